################################################################################
# The biome's schema and login role on the environment's shared RDS instance.
# Terraform reaches the instance with the master credentials that RDS keeps in
# Secrets Manager; functions log in as the biome role with IAM tokens.
################################################################################

data "aws_db_instance" "shared" {
  count = var.database_enabled ? 1 : 0

  db_instance_identifier = local.env_name
}

data "aws_secretsmanager_secret_version" "db_master" {
  count = var.database_enabled ? 1 : 0

  secret_id = data.aws_db_instance.shared[0].master_user_secret[0].secret_arn
}

locals {
  db_host     = var.database_enabled ? data.aws_db_instance.shared[0].address : ""
  db_port     = var.database_enabled ? data.aws_db_instance.shared[0].port : 5432
  db_name     = var.database_enabled ? data.aws_db_instance.shared[0].db_name : "postgres"
  db_master   = var.database_enabled ? jsondecode(data.aws_secretsmanager_secret_version.db_master[0].secret_string) : { username = "", password = "" }
  db_user_arn = var.database_enabled ? "arn:${local.partition}:rds-db:${var.aws_region}:${var.aws_account_id}:dbuser:${data.aws_db_instance.shared[0].resource_id}/${var.database_schema}" : ""
}

module "database" {
  source = "../../modules/database-schema"
  count  = var.database_enabled ? 1 : 0

  schema_name  = var.database_schema
  asleep       = var.asleep
  drop_cascade = var.sandpit
}
