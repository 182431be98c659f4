output "source_buckets" {
  description = "Source artifact bucket of each environment (the CI store: BIOME_STORE_<ENV>=s3://<bucket>)."
  value       = { for env, m in module.artifact_bucket : env => m.bucket_id }
}

output "replica_buckets" {
  description = "Artifact bucket in each workload account (set it as environments.<env>.bucket in nx-biome.json)."
  value       = local.replica_bucket
}

output "codebuild_projects" {
  description = "CodeBuild project of each job and environment."
  value       = { for key, m in module.codebuild : key => m.project_name }
}

output "gitlab_sandpit_role_arn" {
  description = "Role for GitLab jobs on any branch (AWS_ROLE_ARN of MR and personal biome jobs)."
  value       = aws_iam_role.gitlab_sandpit.arn
}

output "gitlab_release_role_arn" {
  description = "Role for GitLab jobs on protected refs (AWS_ROLE_ARN of main and promotion jobs)."
  value       = aws_iam_role.gitlab_release.arn
}

output "deploy_role_arns" {
  description = "Deploy role of each workload account."
  value = {
    dev     = module.workload_dev.deploy_role_arn
    staging = module.workload_staging.deploy_role_arn
    prod    = module.workload_prod.deploy_role_arn
  }
}

output "state_buckets" {
  description = "Terraform state bucket of each workload account (backends/<env>.s3.tfbackend)."
  value = {
    dev     = module.workload_dev.state_bucket
    staging = module.workload_staging.state_bucket
    prod    = module.workload_prod.state_bucket
  }
}

output "sandpit_deploy_role_arns" {
  description = "Sandpit deploy role of each multi-tenant environment (assumed only by its sandpit CodeBuild projects; backends/<env>-sandpit.s3.tfbackend)."
  value       = { for env, arn in { dev = module.workload_dev.sandpit_deploy_role_arn, staging = module.workload_staging.sandpit_deploy_role_arn, prod = module.workload_prod.sandpit_deploy_role_arn } : env => arn if arn != null }
}

output "gitlab_board_role_arn" {
  description = "Read-only role of the biome board job (CI_ROLE_ARN_BOARD)."
  value       = aws_iam_role.gitlab_board.arn
}

output "drift_role_arns" {
  description = "Read-only role of the drift job in each workload account (CI_ROLE_ARN_DRIFT_<ENV>)."
  value       = local.drift_roles
}
