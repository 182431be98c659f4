variable "name_prefix" {
  description = "Prefix of every AWS name (nx-biome.json namePrefix)."
  type        = string
  default     = "geo"
}

variable "aws_region" {
  description = "Region of the devops account's resources."
  type        = string
  default     = "ap-southeast-2"
}

variable "devops_account_id" {
  description = "The devops account; the default provider refuses any other."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.devops_account_id))
    error_message = "devops_account_id must be a 12-digit AWS account id."
  }
}

variable "environments" {
  description = "Workload accounts, as in nx-biome.json: account, region, and whether sandpit biomes are allowed."
  type = map(object({
    account_id   = string
    region       = string
    multi_tenant = optional(bool, false)
  }))

  validation {
    condition     = toset(keys(var.environments)) == toset(["dev", "staging", "prod"])
    error_message = "environments must be exactly dev, staging and prod (each needs a provider alias in versions.tf)."
  }

  validation {
    condition     = !var.environments["staging"].multi_tenant && !var.environments["prod"].multi_tenant
    error_message = "staging and prod are single-biome: multi_tenant must be false."
  }
}

variable "promotion_order" {
  description = "Environments in promotion order (nx-biome.json promotionOrder)."
  type        = list(string)
  default     = ["dev", "staging", "prod"]
}

variable "bootstrap_role_name" {
  description = "Role the devops stack assumes in each workload account to create the baseline there."
  type        = string
  default     = "OrganizationAccountAccessRole"
}

variable "model_prefix" {
  description = "Prefix below which the shared multi-model endpoint loads models (nx-biome.json modelPrefix)."
  type        = string
  default     = "models/"
}

variable "replication_time_control" {
  description = "Enable S3 Replication Time Control (15-minute SLA, billed per GB) on every replication rule."
  type        = bool
  default     = false
}

variable "gitlab_url" {
  description = "Issuer URL of the GitLab instance (OIDC provider)."
  type        = string
  default     = "https://gitlab.com"
}

variable "gitlab_audience" {
  description = "Audience of the GitLab ID tokens (id_tokens: aud in .gitlab-ci.yml)."
  type        = string
  default     = "sts.amazonaws.com"
}

variable "gitlab_project_path" {
  description = "Full path of the GitLab project (group/subgroup/project) whose pipelines may assume the CI roles."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$", var.gitlab_project_path))
    error_message = "gitlab_project_path must be an exact group/project path, without wildcards."
  }
}

variable "protected_branches" {
  description = "Protected branches whose pipelines may promote to staging and prod (protect them in GitLab too)."
  type        = list(string)
  default     = ["main"]

  validation {
    condition     = length(var.protected_branches) > 0 && alltrue([for b in var.protected_branches : can(regex("^[A-Za-z0-9._/-]+$", b))])
    error_message = "protected_branches must name at least one branch, exactly (no wildcards)."
  }
}

variable "protected_tags" {
  description = "Protected tags whose pipelines may promote (exact names; empty for none)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for t in var.protected_tags : can(regex("^[A-Za-z0-9._/-]+$", t))])
    error_message = "protected_tags must be exact tag names (no wildcards)."
  }
}

variable "source_location" {
  description = "HTTPS clone URL of the repository CodeBuild builds."
  type        = string
}

variable "source_connection_arn" {
  description = "CodeConnections connection to GitLab used by CodeBuild to clone and by the pipeline (null: the stack creates one)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Extra tags of every resource."
  type        = map(string)
  default     = {}
}

variable "hcp_terraform" {
  description = "When biome stacks run in HCP Terraform (nx-biome.json terraform.backend \"cloud\"): organization, hostname and project_per_environment as in terraform.cloud. Each workload account then gets an OIDC provider for the host, and its deploy roles trust the environment's workspaces (main: <name_prefix>-<env> in project <name_prefix>-<env>; sandpit: <name_prefix>-<env>-* in project <name_prefix>-<env>-sandpits). null: none."
  type = object({
    organization            = string
    hostname                = optional(string, "app.terraform.io")
    project_per_environment = optional(bool, true)
  })
  default = null
}
