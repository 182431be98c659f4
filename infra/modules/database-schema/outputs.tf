output "schema_name" {
  description = "Name of the biome's schema."
  value       = postgresql_schema.this.name
}

output "role_name" {
  description = "Login role of the biome (the database user its functions connect as)."
  value       = postgresql_role.this.name
}
