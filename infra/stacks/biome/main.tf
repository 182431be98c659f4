locals {
  # A literal, not data.aws_partition: the provider's assume_role needs the
  # deploy role ARN before any data source can be read.
  partition = "aws"
  env_name  = "${var.name_prefix}-${var.environment}"

  # A sandpit is applied by the sandpit deploy role, whose roles must carry the
  # sandpit boundary (modules/workload-baseline/sandpit.tf): neither can touch
  # the main biome. The main biome keeps <prefix>-deploy-<env> and its boundary.
  role_suffix              = var.sandpit ? "-sandpit" : ""
  deploy_role_arn          = "arn:${local.partition}:iam::${var.aws_account_id}:role/${var.name_prefix}-deploy-${var.environment}${local.role_suffix}"
  permissions_boundary_arn = coalesce(var.permissions_boundary_arn, "arn:${local.partition}:iam::${var.aws_account_id}:policy/${var.name_prefix}-boundary-${var.environment}${local.role_suffix}")
  models_bucket            = coalesce(var.models_bucket, "${var.name_prefix}-models-${var.environment}-${var.aws_account_id}")
  endpoint_name            = coalesce(var.sagemaker_endpoint_name, "${local.env_name}-models")
  endpoint_arn             = "arn:${local.partition}:sagemaker:${var.aws_region}:${var.aws_account_id}:endpoint/${local.endpoint_name}"

  # HCP Terraform workspace names are unique per organization, so there the
  # biome's workspace carries the prefix; S3 workspaces are the biome's name.
  expected_workspace = var.state_backend == "cloud" ? "${var.name_prefix}-${var.biome}" : var.biome
  # In HCP Terraform the run's dynamic credentials already are the deploy role
  # (TFC_AWS_RUN_ROLE_ARN); assuming it again would need it to trust itself.
  assume_deploy_role = var.assume_deploy_role && var.state_backend == "s3"

  # On every resource (provider default_tags); each project adds its own git_sha.
  tags = merge(var.tags, {
    biome       = var.biome
    environment = var.environment
    owner       = var.owner
    sandpit     = tostring(var.sandpit)
    managed_by  = "terraform/infra/stacks/biome"
    # The sandpit boundary lets a role reach only the database user, data
    # bucket and /<prefix>/<env>/<biome>/ secrets its tags name.
    database_user = var.database_schema
  })

  # Variables every function gets, whatever its project says.
  platform_environment = merge(
    {
      DATA_BUCKET = var.data_bucket
      DB_SCHEMA   = var.database_schema
    },
    {
      for k, v in {
        DB_HOST = local.db_host
        DB_PORT = tostring(local.db_port)
        DB_NAME = local.db_name
        DB_USER = var.database_schema
      } : k => v if var.database_enabled
    },
  )
}

################################################################################
# The biome's data bucket (pay per use)
################################################################################

resource "aws_s3_bucket" "data" {
  bucket = var.data_bucket

  # A sandpit is disposable: destroying it removes its data too.
  force_destroy = var.sandpit

  lifecycle {
    precondition {
      condition     = terraform.workspace == local.expected_workspace
      error_message = var.state_backend == "cloud" ? "Run in the biome's own HCP Terraform workspace: TF_WORKSPACE=${local.expected_workspace} (current: ${terraform.workspace})." : "Select the biome's own workspace first: terraform workspace select -or-create ${var.biome} (current: ${terraform.workspace})."
    }
  }
}

resource "aws_s3_bucket_ownership_controls" "data" {
  bucket = aws_s3_bucket.data.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "data" {
  bucket = aws_s3_bucket.data.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  bucket = aws_s3_bucket.data.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
    bucket_key_enabled = true
  }
}

data "aws_iam_policy_document" "data_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.data.arn, "${aws_s3_bucket.data.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "data" {
  bucket = aws_s3_bucket.data.id
  policy = data.aws_iam_policy_document.data_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.data]
}

################################################################################
# Shared network (looked up by the tags and names of the shared stack)
################################################################################

data "aws_vpc" "shared" {
  count = var.network_enabled ? 1 : 0

  tags = {
    Name = local.env_name
  }
}

data "aws_subnets" "private" {
  count = var.network_enabled ? 1 : 0

  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.shared[0].id]
  }

  tags = {
    Tier = "private"
  }
}

data "aws_security_group" "functions" {
  count = var.network_enabled ? 1 : 0

  vpc_id = data.aws_vpc.shared[0].id
  name   = "${local.env_name}-functions"
}

################################################################################
# Services, workflows, models: one of each per entry of the rendered maps
################################################################################

# The bytes Terraform deploys are the bytes the ledger records. Artifacts are
# written once (IAM: a branch may only add a key, never replace one), and the
# plan checks it again: S3's own SHA-256 of the replica (the plugin uploads
# with ChecksumSHA256; replication keeps it) must equal the recorded sha256,
# and the function is pinned to the version read, so bytes changed after the
# plan are never picked up either.
data "aws_s3_object" "service_package" {
  for_each = var.services

  bucket        = var.artifact_bucket
  key           = each.value.s3_key
  checksum_mode = "ENABLED"

  lifecycle {
    postcondition {
      condition     = !var.verify_artifact_checksums || self.checksum_sha256 == each.value.source_code_hash
      error_message = "s3://${var.artifact_bucket}/${each.value.s3_key} has SHA-256 ${coalesce(self.checksum_sha256, "(none)")} (base64), the ledger records ${each.value.source_code_hash}: not deployed. Deploy the project again (a new commit publishes a new key)."
    }
  }
}

module "service" {
  source   = "../../modules/lambda-service"
  for_each = var.services

  function_name    = each.value.function_name
  description      = "${each.key} @ ${each.value.git_sha}${each.value.dirty ? " (dirty)" : ""} in ${var.biome}"
  s3_bucket        = var.artifact_bucket
  s3_key           = each.value.s3_key
  s3_version       = data.aws_s3_object.service_package[each.key].version_id
  source_code_hash = each.value.source_code_hash
  handler          = each.value.handler
  runtime          = each.value.runtime
  memory_size      = each.value.memory_size
  timeout          = each.value.timeout

  environment_variables = merge(
    each.value.environment,
    local.platform_environment,
    { for k, v in { SAGEMAKER_ENDPOINT = local.endpoint_name } : k => v if each.value.model != null },
  )

  asleep = var.asleep

  vpc_subnet_ids         = var.network_enabled ? data.aws_subnets.private[0].ids : []
  vpc_security_group_ids = var.network_enabled ? [data.aws_security_group.functions[0].id] : []

  policy_statements = {
    for sid, s in {
      UseDataBucketObjects = {
        enabled   = true
        actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
        resources = ["${aws_s3_bucket.data.arn}/*"]
      }
      ListDataBucket = {
        enabled   = true
        actions   = ["s3:ListBucket"]
        resources = [aws_s3_bucket.data.arn]
      }
      ConnectAsBiomeRole = {
        enabled   = var.database_enabled
        actions   = ["rds-db:connect"]
        resources = [local.db_user_arn]
      }
      InvokeSharedModel = {
        enabled   = each.value.model != null
        actions   = ["sagemaker:InvokeEndpoint"]
        resources = [local.endpoint_arn]
      }
    } : sid => { actions = s.actions, resources = s.resources } if s.enabled
  }

  permissions_boundary  = local.permissions_boundary_arn
  log_retention_in_days = var.log_retention_in_days

  tags = {
    project     = each.key
    git_sha     = each.value.git_sha
    dirty       = tostring(each.value.dirty)
    deployed_at = each.value.deployed_at
  }
}

module "workflow" {
  source   = "../../modules/state-machine"
  for_each = var.workflows

  name                = each.value.state_machine_name
  definition          = each.value.definition
  git_sha             = each.value.git_sha
  dirty               = each.value.dirty
  version_description = each.value.version_description

  # The functions the definition names, by the naming rule (the plugin warns
  # when one of them is not in the biome's ledger).
  lambda_function_arns = each.value.function_arns

  permissions_boundary  = local.permissions_boundary_arn
  log_retention_in_days = var.log_retention_in_days

  tags = {
    project     = each.key
    git_sha     = each.value.git_sha
    dirty       = tostring(each.value.dirty)
    deployed_at = each.value.deployed_at
  }

  # Create and update functions before the state machines that invoke them.
  depends_on = [module.service]
}

module "model" {
  source   = "../../modules/model-placement"
  for_each = var.models

  artifact_bucket = var.artifact_bucket
  s3_key          = each.value.s3_key
  models_bucket   = local.models_bucket
  model_prefix    = var.model_prefix
  target_path     = each.value.target_path
  sha256          = each.value.sha256
  git_sha         = each.value.git_sha

  tags = {
    project = each.key
    git_sha = each.value.git_sha
  }
}

################################################################################
# Schedules (pay per invocation; disabled while the biome sleeps)
################################################################################

data "aws_iam_policy_document" "scheduler_assume" {
  count = length(var.schedules) > 0 ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.aws_account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  count = length(var.schedules) > 0 ? 1 : 0

  name                 = "${var.name_prefix}-${var.biome}-scheduler"
  assume_role_policy   = data.aws_iam_policy_document.scheduler_assume[0].json
  permissions_boundary = local.permissions_boundary_arn
}

data "aws_iam_policy_document" "scheduler" {
  count = length(var.schedules) > 0 ? 1 : 0

  statement {
    sid       = "StartScheduledWorkflows"
    actions   = ["states:StartExecution"]
    resources = distinct([for s in values(var.schedules) : module.workflow[s.workflow].state_machine_arn])
  }
}

resource "aws_iam_role_policy" "scheduler" {
  count = length(var.schedules) > 0 ? 1 : 0

  name   = "start-workflows"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.scheduler[0].json
}

resource "aws_scheduler_schedule" "this" {
  for_each = var.schedules

  name                = "${var.name_prefix}-${var.biome}--${each.key}"
  schedule_expression = each.value.schedule_expression
  state               = var.asleep ? "DISABLED" : "ENABLED"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = module.workflow[each.value.workflow].state_machine_arn
    role_arn = aws_iam_role.scheduler[0].arn
    input    = each.value.input
  }

  lifecycle {
    precondition {
      condition     = contains(keys(var.workflows), each.value.workflow)
      error_message = "Schedule ${each.key} starts workflow ${each.value.workflow}, which this biome does not record."
    }
  }
}
