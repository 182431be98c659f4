output "artifact_bucket_arn" {
  description = "ARN of the environment's artifact bucket (the replica Terraform reads code from)."
  value       = module.artifact_bucket.bucket_arn
}

output "artifact_kms_key_arn" {
  description = "KMS key of the environment's artifact bucket (replicas are encrypted with it)."
  value       = module.artifact_bucket.kms_key_arn
}

output "state_bucket" {
  description = "Bucket holding the Terraform state of the environment's stacks."
  value       = module.state_bucket.bucket_id
}

output "deploy_role_arn" {
  description = "ARN of the role that applies biome stacks in this account."
  value       = aws_iam_role.deploy.arn
}

output "permissions_boundary_arn" {
  description = "Permissions boundary every biome role must carry."
  value       = aws_iam_policy.boundary.arn
}

output "sandpit_deploy_role_arn" {
  description = "ARN of the role that applies sandpit biome stacks (null unless multi_tenant)."
  value       = one(aws_iam_role.sandpit_deploy[*].arn)
}

output "sandpit_permissions_boundary_arn" {
  description = "Permissions boundary every sandpit role must carry (null unless multi_tenant)."
  value       = one(aws_iam_policy.sandpit_boundary[*].arn)
}

output "hcp_terraform_oidc_provider_arn" {
  description = "ARN of the account's OIDC provider for HCP Terraform (null unless hcp_terraform is set)."
  value       = one(aws_iam_openid_connect_provider.hcp_terraform[*].arn)
}

output "deploy_role_trust_policy" {
  description = "Trust policy of the deploy role, as rendered (who may assume it: the deployer roles and, with hcp_terraform, the main biome's workspace)."
  value       = data.aws_iam_policy_document.deploy_assume.json
}

output "sandpit_deploy_role_trust_policy" {
  description = "Trust policy of the sandpit deploy role, as rendered (null unless multi_tenant)."
  value       = var.multi_tenant ? data.aws_iam_policy_document.sandpit_deploy_assume.json : null
}

output "drift_role_arn" {
  description = "ARN of the read-only drift role (CI_ROLE_ARN_DRIFT_<ENV>; null without gitlab_oidc)."
  value       = one(aws_iam_role.drift[*].arn)
}
