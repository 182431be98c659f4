variable "schema_manager_function_name" {
  description = "Name of the environment's schema manager function (<prefix>-schema-manager-<env>, from the shared stack)."
  type        = string
}

variable "schema_name" {
  description = "Postgres schema of the biome (biome_<biome with underscores>)."
  type        = string

  validation {
    condition     = can(regex("^biome_[a-z0-9_]{1,57}$", var.schema_name))
    error_message = "schema_name must be biome_<lowercase letters, digits, underscores>, at most 63 characters (the schema manager touches nothing else)."
  }
}

variable "role_name" {
  description = "Login role that owns the schema; null uses schema_name."
  type        = string
  default     = null
}

variable "iam_authentication" {
  description = "Grant rds_iam so the biome's functions log in with IAM tokens instead of a stored password."
  type        = bool
  default     = true
}

variable "connection_limit" {
  description = "Concurrent connections the role may open while awake (protects the shared instance from one biome)."
  type        = number
  default     = 20
}

variable "asleep" {
  description = "When true the role may open no connection (connection limit 0); schema and data are kept."
  type        = bool
  default     = false
}

variable "drop_cascade" {
  description = "Drop the schema's objects with it on destroy (true for sandpits, false for main biomes)."
  type        = bool
  default     = false
}

