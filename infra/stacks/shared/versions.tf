terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.81, < 7.0"
    }
  }

  # One state per environment, in the bucket the devops stack creates there:
  # -backend-config="bucket=<prefix>-tfstate-<env>-<account>" -backend-config="key=shared.tfstate" ...
  backend "s3" {}
}

provider "aws" {
  region              = var.aws_region
  allowed_account_ids = [var.aws_account_id]

  default_tags {
    tags = merge(var.tags, {
      environment = var.environment
      managed_by  = "terraform/infra/stacks/shared"
    })
  }
}
