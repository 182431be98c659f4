locals {
  role_name = coalesce(var.role_name, var.schema_name)
}

# One login role per biome, authenticated by IAM (rds_iam) so no password is
# created, stored or rotated. Asleep, the role keeps its grants but may not
# connect, so an idle biome holds no connection on the shared instance.
resource "postgresql_role" "this" {
  name             = local.role_name
  login            = true
  roles            = var.iam_authentication ? ["rds_iam"] : []
  connection_limit = var.asleep ? 0 : var.connection_limit
  search_path      = [var.schema_name]
}

resource "postgresql_schema" "this" {
  name         = var.schema_name
  owner        = postgresql_role.this.name
  drop_cascade = var.drop_cascade
}
