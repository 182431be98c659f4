output "biome" {
  description = "The biome this workspace holds."
  value       = var.biome
}

output "functions" {
  description = "Function name and ARN of every service, by project."
  value       = { for name, m in module.service : name => { name = m.function_name, arn = m.function_arn, reserved_concurrency = m.reserved_concurrent_executions } }
}

output "state_machines" {
  description = "State machine ARN and published version of every workflow, by project."
  value       = { for name, m in module.workflow : name => { arn = m.state_machine_arn, version_arn = m.state_machine_version_arn } }
}

output "models" {
  description = "Placed key and TargetModel of every model on the shared endpoint, by project."
  value       = { for name, m in module.model : name => { key = m.key, target_model = m.target_model } }
}

output "sagemaker_endpoint_name" {
  description = "The shared multi-model endpoint the biome's models load on."
  value       = local.endpoint_name
}

output "data_bucket" {
  description = "The biome's data bucket."
  value       = aws_s3_bucket.data.id
}

output "database_schema" {
  description = "The biome's schema on the shared instance (null when database_enabled is false)."
  value       = var.database_enabled ? module.database[0].schema_name : null
}

output "asleep" {
  description = "Whether the biome is scaled to zero."
  value       = var.asleep
}
