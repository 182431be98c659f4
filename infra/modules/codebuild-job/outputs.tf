output "project_name" {
  description = "Name of the CodeBuild project."
  value       = aws_codebuild_project.this.name
}

output "project_arn" {
  description = "ARN of the CodeBuild project."
  value       = aws_codebuild_project.this.arn
}

output "role_name" {
  description = "Name of the build's service role (to attach more policies)."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "ARN of the build's service role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the builds."
  value       = aws_cloudwatch_log_group.this.name
}

output "policy_statements" {
  description = "The statements (by sid) the project role's inline policy adds to its base permissions: what a build of this project may do besides logs and source."
  value       = var.policy_statements
}
