################################################################################
# What the devops stack creates in each workload account: the replica artifact
# bucket, the Terraform state bucket, the permissions boundary and the deploy
# role that the environment's CodeBuild projects (and GitLab CI roles) assume.
################################################################################

locals {
  # Who may deploy the main biome of each environment: the environment's main
  # CodeBuild projects and, while GitLab drives main, the protected-refs CI role. Never the any-branch
  # sandpit role (it starts the sandpit CodeBuild projects instead, so a branch
  # pipeline gets no credentials of the workload account), and never the
  # sandpit projects: they run a branch's buildspec, so they assume the
  # sandpit deploy role, which cannot touch the main biome.
  deployers = {
    for env in local.environment_names : env => concat(
      [for key, job in local.jobs : module.codebuild[key].role_arn if job.env == env && job.trust == "main"],
      # Under CodePipeline the pipeline's builds alone deploy main: one orchestrator.
      local.use_pipeline ? [] : [aws_iam_role.gitlab_release.arn],
    )
  }
  sandpit_deployers = {
    for env in local.environment_names : env => [for key, job in local.jobs : module.codebuild[key].role_arn if job.env == env && job.trust == "sandpit"]
  }

  # The projects of each environment's HCP Terraform workspaces, main and sandpits (the plugin's hcpProjectName).
  hcp_terraform = {
    for env in local.environment_names : env => var.hcp_terraform == null ? null : {
      hostname        = var.hcp_terraform.hostname
      organization    = var.hcp_terraform.organization
      project         = var.hcp_terraform.project_per_environment ? "${var.name_prefix}-${env}" : "Default Project"
      sandpit_project = var.hcp_terraform.project_per_environment ? "${var.name_prefix}-${env}-sandpits" : "Default Project"
    }
  }

  # The drift check's read-only role in each workload account trusts the same
  # GitLab issuer, protected branches only.
  drift_oidc  = { url = var.gitlab_url, audience = var.gitlab_audience, project_path = var.gitlab_project_path, protected_branches = var.protected_branches }
  drift_roles = { dev = module.workload_dev.drift_role_arn, staging = module.workload_staging.drift_role_arn, prod = module.workload_prod.drift_role_arn }

  replicas = {
    dev     = { bucket_arn = module.workload_dev.artifact_bucket_arn, kms_key_arn = module.workload_dev.artifact_kms_key_arn }
    staging = { bucket_arn = module.workload_staging.artifact_bucket_arn, kms_key_arn = module.workload_staging.artifact_kms_key_arn }
    prod    = { bucket_arn = module.workload_prod.artifact_bucket_arn, kms_key_arn = module.workload_prod.artifact_kms_key_arn }
  }
}

module "workload_dev" {
  source    = "../../modules/workload-baseline"
  providers = { aws = aws.dev }

  name_prefix                  = var.name_prefix
  environment                  = "dev"
  model_prefix                 = var.model_prefix
  replication_source_role_arns = [aws_iam_role.replication["dev"].arn]
  deployer_role_arns           = local.deployers["dev"]
  multi_tenant                 = var.environments["dev"].multi_tenant
  sandpit_deployer_role_arns   = local.sandpit_deployers["dev"]
  hcp_terraform                = local.hcp_terraform["dev"]
  gitlab_oidc                  = local.drift_oidc
  store_bucket_arn             = "arn:aws:s3:::${local.source_buckets["dev"]}"
  store_kms_key_arn            = module.artifact_bucket["dev"].kms_key_arn
}

module "workload_staging" {
  source    = "../../modules/workload-baseline"
  providers = { aws = aws.staging }

  name_prefix                  = var.name_prefix
  environment                  = "staging"
  model_prefix                 = var.model_prefix
  replication_source_role_arns = [aws_iam_role.replication["staging"].arn]
  deployer_role_arns           = local.deployers["staging"]
  multi_tenant                 = var.environments["staging"].multi_tenant
  sandpit_deployer_role_arns   = local.sandpit_deployers["staging"]
  hcp_terraform                = local.hcp_terraform["staging"]
  gitlab_oidc                  = local.drift_oidc
  store_bucket_arn             = "arn:aws:s3:::${local.source_buckets["staging"]}"
  store_kms_key_arn            = module.artifact_bucket["staging"].kms_key_arn
}

module "workload_prod" {
  source    = "../../modules/workload-baseline"
  providers = { aws = aws.prod }

  name_prefix                  = var.name_prefix
  environment                  = "prod"
  model_prefix                 = var.model_prefix
  replication_source_role_arns = [aws_iam_role.replication["prod"].arn]
  deployer_role_arns           = local.deployers["prod"]
  multi_tenant                 = var.environments["prod"].multi_tenant
  sandpit_deployer_role_arns   = local.sandpit_deployers["prod"]
  hcp_terraform                = local.hcp_terraform["prod"]
  gitlab_oidc                  = local.drift_oidc
  store_bucket_arn             = "arn:aws:s3:::${local.source_buckets["prod"]}"
  store_kms_key_arn            = module.artifact_bucket["prod"].kms_key_arn
}
