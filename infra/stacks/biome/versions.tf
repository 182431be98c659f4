terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.81, < 7.0"
    }
  }

  # Partial configuration: one state bucket per environment, one workspace per
  # biome (state key biomes/<biome>/biome.tfstate). Pass the environment's file
  # at init, e.g. TF_CLI_ARGS_init="-backend-config=backends/dev.s3.tfbackend".
  # With terraform.backend "cloud" in nx-biome.json the plugin generates the
  # git-ignored cloud_override.tf, whose cloud {} block replaces this one.
  backend "s3" {}
}

provider "aws" {
  region = var.aws_region

  # Refuses to touch any account but the biome's own, whatever credentials are active.
  allowed_account_ids = [var.aws_account_id]

  dynamic "assume_role" {
    for_each = local.assume_deploy_role ? [local.deploy_role_arn] : []

    content {
      role_arn     = assume_role.value
      session_name = "biome-${var.biome}"
    }
  }

  default_tags {
    tags = local.tags
  }
}
