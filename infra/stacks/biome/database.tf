################################################################################
# The biome's schema and login role on the environment's shared RDS instance,
# made by the shared stack's schema manager (a Lambda function inside the VPC
# that reads the master secret itself): CI needs no network path to the
# instance and no database credential, and none lands in state. Functions log
# in as the biome role with IAM tokens.
################################################################################

data "aws_db_instance" "shared" {
  count = var.database_enabled ? 1 : 0

  db_instance_identifier = local.env_name
}

locals {
  db_host     = var.database_enabled ? data.aws_db_instance.shared[0].address : ""
  db_port     = var.database_enabled ? data.aws_db_instance.shared[0].port : 5432
  db_name     = var.database_enabled ? data.aws_db_instance.shared[0].db_name : "postgres"
  db_user_arn = var.database_enabled ? "arn:${local.partition}:rds-db:${var.aws_region}:${var.aws_account_id}:dbuser:${data.aws_db_instance.shared[0].resource_id}/${var.database_schema}" : ""
}

module "database" {
  source = "../../modules/database-schema"
  count  = var.database_enabled ? 1 : 0

  # A sandpit's deploy role may invoke only the sandpit schema manager, which
  # refuses the main biome's schema (infra/stacks/shared/schema-manager.tf).
  schema_manager_function_name = "${var.name_prefix}-schema-manager-${var.environment}${var.sandpit ? "-sandpit" : ""}"
  schema_name                  = var.database_schema
  asleep                       = var.asleep
  drop_cascade                 = var.sandpit
}
