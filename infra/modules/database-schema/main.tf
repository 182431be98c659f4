locals {
  role_name = coalesce(var.role_name, var.schema_name)
}

# The environment's schema manager (infra/stacks/shared/schema-manager.tf)
# runs the SQL inside the VPC with the master secret it reads itself. With
# lifecycle_scope CRUD the provider invokes it again with tf.action "update"
# when the input changes and "delete" on destroy; every action is idempotent.
#
# One login role per biome, authenticated by IAM (rds_iam) so no password is
# created, stored or rotated. Asleep, the role keeps its grants but may not
# connect (connection limit 0), so an idle biome holds no connection.
resource "aws_lambda_invocation" "this" {
  function_name   = var.schema_manager_function_name
  lifecycle_scope = "CRUD"
  terraform_key   = "tf"

  input = jsonencode({
    schema             = var.schema_name
    role               = local.role_name
    iam_authentication = var.iam_authentication
    connection_limit   = var.asleep ? 0 : var.connection_limit
    drop_cascade       = var.drop_cascade
  })
}
