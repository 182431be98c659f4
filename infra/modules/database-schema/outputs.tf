output "schema_name" {
  description = "Name of the biome's schema."
  value       = var.schema_name
}

output "role_name" {
  description = "Login role of the biome (the database user its functions connect as)."
  value       = local.role_name
}

output "result" {
  description = "What the schema manager reported for the last create or update (JSON: schema, role, statements run)."
  value       = aws_lambda_invocation.this.result
}
