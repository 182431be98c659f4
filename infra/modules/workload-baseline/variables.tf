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
