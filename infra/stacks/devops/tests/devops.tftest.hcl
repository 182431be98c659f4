# Plans and applies the devops stack from an EMPTY state with mocked
# providers (no AWS account is contacted): one apply must be enough, so no
# count or for_each may depend on a value known only after apply.
#
#   terraform -chdir=infra/stacks/devops init -backend=false
#   terraform -chdir=infra/stacks/devops test

mock_provider "aws" {
  source = "../../tests/mocks"
}

mock_provider "aws" {
  alias  = "dev"
  source = "../../tests/mocks"
}

mock_provider "aws" {
  alias  = "staging"
  source = "../../tests/mocks"
}

mock_provider "aws" {
  alias  = "prod"
  source = "../../tests/mocks"
}

variables {
  devops_account_id   = "444444444444"
  gitlab_project_path = "geo/platform"
  source_location     = "https://gitlab.com/geo/platform.git"
  environments = {
    dev     = { account_id = "111111111111", region = "ap-southeast-2", multi_tenant = true }
    staging = { account_id = "222222222222", region = "ap-southeast-2" }
    prod    = { account_id = "333333333333", region = "ap-southeast-2" }
  }
}

# One run: its plan is the plan from an empty state (a count or for_each on a
# value known only after apply fails it with "Invalid count argument"), then
# it applies.
run "applies_from_an_empty_state_in_one_apply" {
  command = apply

  assert {
    condition     = length(module.artifact_bucket) == 3 && length(module.codebuild) == 5
    error_message = "One source bucket per environment; sandpit deploy and destroy plus main deploy for dev, promote for staging and prod."
  }

  assert {
    condition     = length(aws_iam_role.replication) == 3
    error_message = "Every source bucket replicates with a role created beside it (known before the buckets and the workload accounts' policies that name it)."
  }

  assert {
    condition     = module.workload_dev.deploy_role_arn != "" && module.workload_staging.deploy_role_arn != "" && module.workload_prod.deploy_role_arn != ""
    error_message = "Each workload account gets its deploy role in the same apply."
  }

  assert {
    condition     = alltrue([for env in ["dev", "staging", "prod"] : length(local.deployers[env]) == length([for key, job in local.jobs : key if job.env == env && job.trust == "main"]) + 1])
    error_message = "Each deploy role trusts its environment's main CodeBuild roles and the release role, nothing else (never a sandpit project, never the any-branch sandpit role)."
  }

  assert {
    condition     = toset(local.sandpit_deployers["dev"]) == toset([module.codebuild["deploy-dev-sandpit"].role_arn, module.codebuild["destroy-dev"].role_arn]) && length(local.sandpit_deployers["staging"]) == 0 && length(local.sandpit_deployers["prod"]) == 0
    error_message = "The sandpit deploy role of dev trusts exactly the sandpit CodeBuild projects."
  }

  assert {
    condition     = module.workload_dev.sandpit_deploy_role_arn != null && module.workload_dev.sandpit_permissions_boundary_arn != null && module.workload_staging.sandpit_deploy_role_arn == null && module.workload_prod.sandpit_deploy_role_arn == null
    error_message = "Only the multi-tenant environment (dev) gets a sandpit deploy role and boundary."
  }

  # What each project's role may assume: a sandpit project (any branch's
  # buildspec) only the sandpit deploy role, a main project only its
  # environment's deploy role.
  assert {
    condition = alltrue([for key, job in local.jobs : one(module.codebuild[key].policy_statements["AssumeDeployRole"].resources) == (
      job.trust == "sandpit" ? "arn:aws:iam::111111111111:role/geo-deploy-dev-sandpit" : "arn:aws:iam::${var.environments[job.env].account_id}:role/geo-deploy-${job.env}"
    )])
    error_message = "Sandpit CodeBuild projects assume only geo-deploy-dev-sandpit; main projects only geo-deploy-<env>."
  }

  assert {
    condition     = alltrue([for key, job in local.jobs : join(",", [for sid, s in module.codebuild[key].policy_statements : sid if contains(s.actions, "sts:AssumeRole")]) == "AssumeDeployRole"])
    error_message = "No other statement of a CodeBuild role allows sts:AssumeRole."
  }
}
