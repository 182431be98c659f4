# HCP Terraform runs the biome stacks (nx-biome.json terraform.backend "cloud"):
# with hcp_terraform set, one apply from an empty state gives every workload
# account its OIDC provider for the host, before the deploy roles that trust it.
#
#   terraform -chdir=infra/stacks/devops test -filter=tests/hcp-terraform.tftest.hcl

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
  hcp_terraform = { organization = "geo-platform" }
}

run "hcp_terraform_applies_from_an_empty_state" {
  command = apply

  assert {
    condition     = alltrue([for m in [module.workload_dev, module.workload_staging, module.workload_prod] : m.hcp_terraform_oidc_provider_arn != null])
    error_message = "Every workload account gets the HCP Terraform OIDC provider in the same apply."
  }

  assert {
    condition     = local.hcp_terraform["dev"].project == "geo-dev" && local.hcp_terraform["dev"].sandpit_project == "geo-dev-sandpits" && local.hcp_terraform["prod"].project == "geo-prod" && local.hcp_terraform["dev"].hostname == "app.terraform.io"
    error_message = "Each environment's roles trust its own projects, <name_prefix>-<env> (main) and <name_prefix>-<env>-sandpits, on app.terraform.io (the plugin's hcpProjectName)."
  }
}

run "without_hcp_terraform_no_oidc_provider" {
  command = plan

  variables {
    hcp_terraform = null
  }

  assert {
    condition     = module.workload_dev.hcp_terraform_oidc_provider_arn == null && local.hcp_terraform["dev"] == null
    error_message = "The default (S3 backend) creates no HCP Terraform trust."
  }
}
