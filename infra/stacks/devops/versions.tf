terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.81, < 7.0"
    }
  }

  # State in the devops account: -backend-config="bucket=..." -backend-config="key=devops.tfstate" ...
  backend "s3" {}
}

# The devops account (CI/CD, source artifact buckets, GitLab OIDC).
provider "aws" {
  region              = var.aws_region
  allowed_account_ids = [var.devops_account_id]

  default_tags {
    tags = local.tags
  }
}

# One provider per workload account, through the account's bootstrap role.
# Terraform cannot for_each providers: a new environment needs a provider here
# and a module block in environments.tf.
provider "aws" {
  alias               = "dev"
  region              = var.environments["dev"].region
  allowed_account_ids = [var.environments["dev"].account_id]

  assume_role {
    role_arn     = "arn:aws:iam::${var.environments["dev"].account_id}:role/${var.bootstrap_role_name}"
    session_name = "devops-stack"
  }

  default_tags {
    tags = merge(local.tags, { environment = "dev" })
  }
}

provider "aws" {
  alias               = "staging"
  region              = var.environments["staging"].region
  allowed_account_ids = [var.environments["staging"].account_id]

  assume_role {
    role_arn     = "arn:aws:iam::${var.environments["staging"].account_id}:role/${var.bootstrap_role_name}"
    session_name = "devops-stack"
  }

  default_tags {
    tags = merge(local.tags, { environment = "staging" })
  }
}

provider "aws" {
  alias               = "prod"
  region              = var.environments["prod"].region
  allowed_account_ids = [var.environments["prod"].account_id]

  assume_role {
    role_arn     = "arn:aws:iam::${var.environments["prod"].account_id}:role/${var.bootstrap_role_name}"
    session_name = "devops-stack"
  }

  default_tags {
    tags = merge(local.tags, { environment = "prod" })
  }
}
