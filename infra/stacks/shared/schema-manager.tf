################################################################################
# Schema manager (apps/services/schema-manager): creates, updates and drops
# one biome's schema and login role on the shared Postgres instance. The biome
# stack invokes it with aws_lambda_invocation (lifecycle_scope CRUD), so CI
# never needs a network path to the private instance, and the master password
# stays in the Secrets Manager secret RDS manages: the function reads it at run
# time, Terraform state only ever holds the secret's ARN.
################################################################################

locals {
  schema_manager_enabled = var.schema_manager_s3_key != null

  # Outside <prefix>-<env>-*: neither the deploy role nor a biome function may
  # change it; the deploy role may only invoke it.
  schema_manager_name = "${var.name_prefix}-schema-manager-${var.environment}"

  # The sandpit instance (same package) serves only biome_<env>_* schemas
  # (SCHEMA_PREFIX): the sandpit deploy role, which any branch's build holds,
  # may invoke only it, so it can never sleep or drop the main biome's schema.
  schema_managers = {
    for key, m in {
      main    = { name = local.schema_manager_name, environment = {} }
      sandpit = { name = "${local.schema_manager_name}-sandpit", environment = { SCHEMA_PREFIX = "biome_${replace(var.environment, "-", "_")}_" } }
    } : key => m if local.schema_manager_enabled && (key == "main" || var.sandpit_schema_manager)
  }

  # It reads the master secret from the private subnets (no NAT gateway).
  interface_endpoints = distinct(concat(var.interface_endpoints, local.schema_manager_enabled ? ["secretsmanager"] : []))
}

resource "aws_security_group" "schema_manager" {
  count = local.schema_manager_enabled ? 1 : 0

  name        = "${local.name}-schema-manager"
  description = "Schema manager of ${var.environment}: Postgres and HTTPS (Secrets Manager endpoint) only"
  vpc_id      = module.network.vpc_id
}

resource "aws_vpc_security_group_egress_rule" "schema_manager_postgres" {
  count = local.schema_manager_enabled ? 1 : 0

  security_group_id            = aws_security_group.schema_manager[0].id
  description                  = "Postgres on the shared instance"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.database.id
}

resource "aws_vpc_security_group_egress_rule" "schema_manager_https" {
  count = local.schema_manager_enabled ? 1 : 0

  security_group_id = aws_security_group.schema_manager[0].id
  description       = "HTTPS to the Secrets Manager interface endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = var.vpc_cidr
}

resource "aws_vpc_security_group_ingress_rule" "database_from_schema_manager" {
  count = local.schema_manager_enabled ? 1 : 0

  security_group_id            = aws_security_group.database.id
  description                  = "Postgres from the schema manager"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.schema_manager[0].id
}

moved {
  from = module.schema_manager[0]
  to   = module.schema_manager["main"]
}

module "schema_manager" {
  source   = "../../modules/lambda-service"
  for_each = local.schema_managers

  function_name    = each.value.name
  description      = each.key == "main" ? "Creates, updates and drops the schema and login role of each ${var.environment} biome" : "Creates, updates and drops the schema and login role of ${var.environment} sandpits only (biome_${var.environment}_*)"
  s3_bucket        = local.artifact_bucket
  s3_key           = var.schema_manager_s3_key
  source_code_hash = var.schema_manager_source_code_hash
  handler          = "main.handler"
  runtime          = "nodejs22.x"
  memory_size      = 256
  timeout          = 60

  # One change at a time on the shared instance.
  reserved_concurrent_executions = 1

  environment_variables = merge({
    DB_HOST       = aws_db_instance.this.address
    DB_PORT       = tostring(aws_db_instance.this.port)
    DB_NAME       = aws_db_instance.this.db_name
    DB_SECRET_ARN = aws_db_instance.this.master_user_secret[0].secret_arn
  }, each.value.environment)

  vpc_subnet_ids         = module.network.private_subnet_ids
  vpc_security_group_ids = [aws_security_group.schema_manager[0].id]

  log_retention_in_days = var.schema_manager_log_retention_in_days

  policy_statements = {
    # The secret is encrypted with the AWS managed key of Secrets Manager,
    # whose key policy lets the account's principals decrypt through the service.
    ReadMasterSecret = {
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [aws_db_instance.this.master_user_secret[0].secret_arn]
    }
  }
}
