output "vpc_id" {
  description = "VPC of the environment (the biome stack finds it by its Name tag)."
  value       = module.network.vpc_id
}

output "private_subnet_ids" {
  description = "Private subnets (tagged Tier=private) the biome functions attach to."
  value       = module.network.private_subnet_ids
}

output "functions_security_group_id" {
  description = "Security group of every biome function (<prefix>-<env>-functions)."
  value       = aws_security_group.functions.id
}

output "db_instance_identifier" {
  description = "Identifier of the shared Postgres instance (<prefix>-<env>)."
  value       = aws_db_instance.this.identifier
}

output "db_address" {
  description = "Host name of the shared Postgres instance."
  value       = aws_db_instance.this.address
}

output "models_bucket" {
  description = "Bucket the multi-model endpoint loads from."
  value       = module.models_bucket.bucket_id
}

output "sagemaker_endpoint_name" {
  description = "Name of the shared multi-model endpoint (<prefix>-<env>-models)."
  value       = aws_sagemaker_endpoint.this.name
}

output "artifact_deployer_function_name" {
  description = "Name of the artifact deployer function (<prefix>-artifact-deployer-<env>); null when it is not deployed."
  value       = one(module.artifact_deployer[*].function_name)
}

output "artifact_deployer_queue_url" {
  description = "Queue of the ledger events the artifact deployer consumes; null when it is not deployed."
  value       = one(aws_sqs_queue.artifact_deployer[*].url)
}

output "artifact_deployer_dead_letter_queue_url" {
  description = "Dead-letter queue of ledger events that failed 10 times; null when it is not deployed."
  value       = one(aws_sqs_queue.artifact_deployer_dlq[*].url)
}

output "schema_manager_function_name" {
  description = "The schema manager the biome stack invokes per biome (null when schema_manager_s3_key is unset)."
  value       = local.schema_manager_enabled ? module.schema_manager["main"].function_name : null
}

output "sandpit_schema_manager_function_name" {
  description = "The sandpit schema manager (biome_<environment>_* schemas only), invoked by sandpit biome stacks; null unless sandpit_schema_manager."
  value       = try(module.schema_manager["sandpit"].function_name, null)
}
