variable "name_prefix" {
  description = "Prefix of every AWS name (nx-biome.json namePrefix)."
  type        = string
}

variable "environment" {
  description = "Environment this workload account serves (dev, staging, prod)."
  type        = string
}

variable "replication_source_role_arns" {
  description = "Replication roles of the devops artifact buckets allowed to replicate into this account's artifact bucket."
  type        = list(string)
  default     = []
}

variable "deployer_role_arns" {
  description = "Devops roles (CodeBuild service roles) allowed to assume the deploy role."
  type        = list(string)
}

variable "model_prefix" {
  description = "Prefix below which the shared multi-model endpoint loads models (nx-biome.json modelPrefix)."
  type        = string
  default     = "models/"
}

variable "tags" {
  description = "Tags of every resource the module creates."
  type        = map(string)
  default     = {}
}

variable "multi_tenant" {
  description = "Whether the environment holds sandpit biomes: creates the sandpit deploy role <name_prefix>-deploy-<environment>-sandpit and the sandpit boundary."
  type        = bool
  default     = false
}

variable "sandpit_deployer_role_arns" {
  description = "Devops roles (the sandpit CodeBuild service roles) allowed to assume the sandpit deploy role; never the main deploy role."
  type        = list(string)
  default     = []
}

variable "state_workspace_key_prefix" {
  description = "workspace_key_prefix of the biome stack's S3 backend (stacks/biome/backends): the sandpit deploy role may use only <prefix>/<environment>-*/ state keys."
  type        = string
  default     = "biomes"
}

variable "hcp_terraform" {
  description = "HCP Terraform (or Terraform Enterprise) runs the biome stacks with dynamic provider credentials: creates the account's OIDC provider for hostname; the main deploy role trusts only workspace <name_prefix>-<environment> of project, the sandpit deploy role only workspaces <name_prefix>-<environment>-* of sandpit_project (organization, project, workspace and run phase in the token's sub). null: neither."
  type = object({
    hostname        = optional(string, "app.terraform.io")
    organization    = string
    project         = string
    sandpit_project = string
  })
  default = null

  validation {
    condition     = var.hcp_terraform == null || can(regex("^[a-z0-9.-]+$", var.hcp_terraform.hostname)) && !can(regex("[:*?]", "${var.hcp_terraform.organization}${var.hcp_terraform.project}${var.hcp_terraform.sandpit_project}"))
    error_message = "hcp_terraform: hostname is a bare host (no scheme or port); organization and the projects hold no \":\", \"*\" or \"?\" (they are matched literally in the sub claim)."
  }
}

variable "gitlab_oidc" {
  description = "GitLab OIDC issuer whose scheduled drift job may read this account (creates the provider and the read-only role <name_prefix>-drift-<environment>); null creates neither."
  type = object({
    url                = string
    audience           = string
    project_path       = string
    protected_branches = list(string)
  })
  default = null
}

variable "store_bucket_arn" {
  description = "The environment's store in the devops account (source artifact bucket): the drift role reads its ledgers."
  type        = string
  default     = null
}

variable "store_kms_key_arn" {
  description = "KMS key of that store."
  type        = string
  default     = null
}
