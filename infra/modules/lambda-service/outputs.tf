output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the function's IAM role."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the function's IAM role."
  value       = aws_iam_role.this.name
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = aws_cloudwatch_log_group.this.name
}

output "reserved_concurrent_executions" {
  description = "Reserved concurrency in effect (0 while the biome sleeps)."
  value       = local.reserved_concurrent_executions
}

output "s3_object_version" {
  description = "Version of the package the function was given (null: the current version)."
  value       = var.s3_version
}

output "environment_variables" {
  description = "The function's environment variables (names and values; secret references, never secret values)."
  value       = var.environment_variables
}
