output "state_machine_name" {
  description = "Name of the state machine."
  value       = aws_sfn_state_machine.this.name
}

output "state_machine_arn" {
  description = "ARN of the state machine."
  value       = aws_sfn_state_machine.this.arn
}

output "state_machine_version_arn" {
  description = "ARN of the version published for this definition."
  value       = aws_sfn_state_machine.this.state_machine_version_arn
}

output "role_arn" {
  description = "ARN of the state machine's IAM role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the executions."
  value       = aws_cloudwatch_log_group.this.name
}

output "alias_arn" {
  description = "ARN of the live alias (start executions through it to run the published version)."
  value       = aws_sfn_alias.this.arn
}

output "version_description" {
  description = "Commit the live alias runs, as its description says."
  value       = aws_sfn_alias.this.description
}
