locals {
  name          = "${var.name_prefix}-${var.environment}"
  models_bucket = "${var.name_prefix}-models-${var.environment}-${var.aws_account_id}"
}

data "aws_partition" "current" {}

################################################################################
# Network: private subnets only, no NAT gateway unless asked (see README)
################################################################################

module "network" {
  source = "../../modules/network"

  name                = local.name
  cidr_block          = var.vpc_cidr
  enable_nat_gateway  = var.enable_nat_gateway
  interface_endpoints = local.interface_endpoints
}

# Every biome's functions use this group; the biome stack finds it by name.
resource "aws_security_group" "functions" {
  name        = "${local.name}-functions"
  description = "Lambda functions of every ${var.environment} biome"
  vpc_id      = module.network.vpc_id
}

resource "aws_vpc_security_group_egress_rule" "functions_https" {
  security_group_id = aws_security_group.functions.id
  description       = "HTTPS to VPC endpoints and S3"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "functions_postgres" {
  security_group_id            = aws_security_group.functions.id
  description                  = "Postgres on the shared instance"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.database.id
}

resource "aws_security_group" "database" {
  name        = "${local.name}-database"
  description = "Shared Postgres instance of ${var.environment}"
  vpc_id      = module.network.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "database_from_functions" {
  security_group_id            = aws_security_group.database.id
  description                  = "Postgres from biome functions"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.functions.id
}

################################################################################
# One RDS instance for every biome of the environment (one schema per biome)
################################################################################

resource "aws_db_subnet_group" "this" {
  name       = local.name
  subnet_ids = module.network.private_subnet_ids
}

resource "aws_db_instance" "this" {
  identifier     = local.name
  engine         = "postgres"
  engine_version = var.db_engine_version
  instance_class = var.db_instance_class
  db_name        = "app"

  allocated_storage     = var.db_allocated_storage
  max_allocated_storage = var.db_max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true

  username                            = "platform_admin"
  manage_master_user_password         = true
  iam_database_authentication_enabled = true

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.database.id]
  publicly_accessible    = false
  multi_az               = var.db_multi_az

  backup_retention_period   = var.db_backup_retention_days
  deletion_protection       = var.db_deletion_protection
  skip_final_snapshot       = false
  final_snapshot_identifier = "${local.name}-final"
  copy_tags_to_snapshot     = true

  auto_minor_version_upgrade = true
}

################################################################################
# One SageMaker multi-model endpoint for every biome of the environment
################################################################################

module "models_bucket" {
  source = "../../modules/artifact-bucket"

  bucket = local.models_bucket
}

data "aws_iam_policy_document" "sagemaker_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }
  }
}

# Named outside <prefix>-<env>-*, the pattern of biome roles: the deploy role
# can neither change its policies nor its trust.
resource "aws_iam_role" "sagemaker" {
  name               = "${var.name_prefix}-models-endpoint-${var.environment}"
  assume_role_policy = data.aws_iam_policy_document.sagemaker_assume.json
}

data "aws_iam_policy_document" "sagemaker" {
  statement {
    sid       = "LoadModels"
    actions   = ["s3:GetObject"]
    resources = ["${module.models_bucket.bucket_arn}/${var.model_prefix}*"]
  }

  statement {
    sid       = "ListModels"
    actions   = ["s3:ListBucket"]
    resources = [module.models_bucket.bucket_arn]
  }

  statement {
    sid       = "DecryptModels"
    actions   = ["kms:Decrypt"]
    resources = [module.models_bucket.kms_key_arn]
  }

  statement {
    sid       = "PullInferenceImage"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = ["arn:${data.aws_partition.current.partition}:ecr:${var.aws_region}:*:repository/*"]
  }

  # GetAuthorizationToken and metric publishing support no resource-level permissions.
  statement {
    sid       = "AuthenticateAndReport"
    actions   = ["ecr:GetAuthorizationToken", "cloudwatch:PutMetricData"]
    resources = ["*"]
  }

  statement {
    sid       = "WriteEndpointLogs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["arn:${data.aws_partition.current.partition}:logs:${var.aws_region}:${var.aws_account_id}:log-group:/aws/sagemaker/Endpoints/${local.name}-models*"]
  }
}

resource "aws_iam_role_policy" "sagemaker" {
  name   = "models-endpoint"
  role   = aws_iam_role.sagemaker.id
  policy = data.aws_iam_policy_document.sagemaker.json
}

resource "aws_sagemaker_model" "this" {
  name               = "${local.name}-models"
  execution_role_arn = aws_iam_role.sagemaker.arn

  # MultiModel: the endpoint loads <model_data_url><TargetModel> on first use,
  # so each biome's models are only files below <model_prefix><biome>/.
  primary_container {
    image          = var.inference_image
    mode           = "MultiModel"
    model_data_url = "s3://${module.models_bucket.bucket_id}/${var.model_prefix}"
  }

  depends_on = [aws_iam_role_policy.sagemaker]
}

resource "aws_sagemaker_endpoint_configuration" "this" {
  name_prefix = "${local.name}-models-"

  production_variants {
    variant_name           = "all"
    model_name             = aws_sagemaker_model.this.name
    instance_type          = var.endpoint_instance_type
    initial_instance_count = var.endpoint_instance_count
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_sagemaker_endpoint" "this" {
  name                 = "${local.name}-models"
  endpoint_config_name = aws_sagemaker_endpoint_configuration.this.name
}
