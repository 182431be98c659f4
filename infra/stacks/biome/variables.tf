################################################################################
# Rendered by the plugin (tools/nx-biome/src/core/tfvars.ts, BiomeTfvars) into
# dist/terraform/<biome>.tfvars.json. Keep these in step with that file: the
# static tests in test/infra fail when a rendered key is not declared here or
# has another shape.
################################################################################

variable "name_prefix" {
  description = "Prefix of every AWS name (nx-biome.json namePrefix)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{0,9}$", var.name_prefix))
    error_message = "name_prefix must be 1-10 lowercase letters or digits, starting with a letter."
  }
}

variable "biome" {
  description = "Biome name: the environment's name for its main biome, <environment>-<suffix> for a sandpit."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]*(-[a-z0-9]+)*$", var.biome))
    error_message = "biome must be lowercase letters, digits and single hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Environment (workload account) of the biome: dev, staging or prod."
  type        = string

  validation {
    condition     = var.biome == var.environment || startswith(var.biome, "${var.environment}-")
    error_message = "biome must be the environment's name or start with \"<environment>-\"."
  }
}

variable "aws_region" {
  description = "Region of the environment."
  type        = string
}

variable "aws_account_id" {
  description = "Workload account of the environment; the AWS provider refuses any other."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id must be a 12-digit AWS account id."
  }
}

variable "artifact_bucket" {
  description = "The environment's artifact bucket (replica of the devops bucket) holding every artifact the biome uses."
  type        = string
}

variable "model_prefix" {
  description = "Prefix below which the shared multi-model endpoint loads models (ends with /)."
  type        = string

  validation {
    condition     = endswith(var.model_prefix, "/")
    error_message = "model_prefix must end with \"/\"."
  }
}

variable "data_bucket" {
  description = "The biome's own data bucket (pay per use)."
  type        = string

  validation {
    condition     = length(var.data_bucket) <= 63
    error_message = "data_bucket must be at most 63 characters."
  }
}

variable "database_schema" {
  description = "Postgres schema (and login role) of the biome on the environment's shared RDS instance."
  type        = string
}

variable "owner" {
  description = "Owner of the biome (tagged on every resource)."
  type        = string
}

variable "asleep" {
  description = "Scale the biome to zero without deleting it: reserved concurrency 0 on every function, schedules disabled, database role without connections."
  type        = bool
}

variable "sandpit" {
  description = "True for a sandpit biome (<environment>-<suffix>); sandpits exist only in multi-tenant environments."
  type        = bool

  validation {
    condition     = var.sandpit == (var.biome != var.environment)
    error_message = "sandpit must be true exactly when biome differs from environment."
  }

  validation {
    condition     = !var.sandpit || contains(var.multi_tenant_environments, var.environment)
    error_message = "Sandpit biomes exist only in multi-tenant environments; staging and prod are single-biome."
  }
}

variable "services" {
  description = "Lambda services of the biome, by project name, as recorded in its ledger."
  type = map(object({
    function_name    = string
    s3_key           = string
    source_code_hash = string
    sha256           = string
    git_sha          = string
    dirty            = bool
    handler          = string
    runtime          = string
    memory_size      = number
    timeout          = number
    environment      = map(string)
    model            = string
    deployed_at      = string
    # Read-only grants (datasets.tf); optional so tfvars rendered before them still plan.
    data_sets          = optional(map(string), {})
    ssm_parameter_arns = optional(list(string), [])
    secret_arns        = optional(list(string), [])
  }))
  default = {}

  validation {
    condition     = alltrue([for name, s in var.services : length(s.function_name) <= 64 && s.function_name == "${var.name_prefix}-${var.biome}--${name}"])
    error_message = "Every function_name is <name_prefix>-<biome>--<project> (one name per biome and project) and at most 64 characters."
  }
}

variable "workflows" {
  description = "Step Functions workflows of the biome, by project name, with definitions already resolved to the biome's functions."
  type = map(object({
    state_machine_name  = string
    s3_key              = string
    sha256              = string
    git_sha             = string
    dirty               = bool
    definition          = string
    version_description = string
    services            = list(string)
    function_arns       = list(string)
    deployed_at         = string
  }))
  default = {}

  validation {
    condition     = alltrue([for name, w in var.workflows : length(w.state_machine_name) <= 64 && w.state_machine_name == "${var.name_prefix}-${var.biome}--${name}"])
    error_message = "Every state_machine_name is <name_prefix>-<biome>--<project> (one name per biome and project) and at most 64 characters (its IAM role shares the name)."
  }
}

variable "models" {
  description = "SageMaker models of the biome, by project name, placed on the environment's shared multi-model endpoint."
  type = map(object({
    s3_key      = string
    target_path = string
    sha256      = string
    git_sha     = string
    dirty       = bool
    deployed_at = string
  }))
  default = {}

  validation {
    condition     = alltrue([for name, m in var.models : startswith(m.target_path, "${var.biome}/")])
    error_message = "Every model target_path lies below <biome>/."
  }
}

################################################################################
# Not rendered by the plugin: defaults follow the naming convention of the
# devops and shared stacks, so a rendered tfvars file is a complete input.
################################################################################

variable "multi_tenant_environments" {
  description = "Environments that may hold sandpit biomes (nx-biome.json multiTenant)."
  type        = list(string)
  default     = ["dev"]
}

variable "assume_deploy_role" {
  description = "Assume <name_prefix>-deploy-<environment> (a sandpit: <name_prefix>-deploy-<environment>-sandpit) in the workload account (true in CI, which runs in the devops account)."
  type        = bool
  default     = true
}

variable "state_backend" {
  description = "Where this run's state lives: s3 (the workspace is named after the biome; the provider assumes the deploy role) or cloud (HCP Terraform workspace <name_prefix>-<biome>; the run's dynamic provider credentials already are the deploy role)."
  type        = string
  default     = "s3"

  validation {
    condition     = contains(["s3", "cloud"], var.state_backend)
    error_message = "state_backend is s3 or cloud."
  }
}

variable "models_bucket" {
  description = "Bucket the shared multi-model endpoint loads from; null uses <name_prefix>-models-<environment>-<aws_account_id>."
  type        = string
  default     = null
}

variable "sagemaker_endpoint_name" {
  description = "The environment's shared multi-model endpoint; null uses <name_prefix>-<environment>-models."
  type        = string
  default     = null
}

variable "network_enabled" {
  description = "Attach functions to the shared VPC's private subnets (found by the tags of the shared stack), so they reach the database."
  type        = bool
  default     = true
}

variable "database_enabled" {
  description = "Create the biome's schema and role on the shared RDS instance <name_prefix>-<environment>, through the shared stack's schema manager <name_prefix>-schema-manager-<environment>."
  type        = bool
  default     = true
}

variable "schedules" {
  description = "EventBridge schedules that start workflows, by schedule name: workflow project, schedule expression, input JSON. Disabled while the biome sleeps."
  type = map(object({
    workflow            = string
    schedule_expression = string
    input               = optional(string, "{}")
  }))
  default = {}
}

variable "log_retention_in_days" {
  description = "Retention of the biome's log groups."
  type        = number
  default     = 14
}

variable "permissions_boundary_arn" {
  description = "Boundary of every role the biome creates; null uses <name_prefix>-boundary-<environment> (a sandpit: <name_prefix>-boundary-<environment>-sandpit) from the devops stack."
  type        = string
  default     = null
}

variable "tags" {
  description = "Extra tags of every resource."
  type        = map(string)
  default     = {}
}

variable "verify_artifact_checksums" {
  description = "Fail the plan when a service package's S3 SHA-256 in the replica differs from the sha256 its ledger records (the function is pinned to the version checked). Turn off only for mocked tests, whose mocked S3 cannot know each package's checksum."
  type        = bool
  default     = true
}
