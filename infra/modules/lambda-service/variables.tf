variable "function_name" {
  description = "Name of the Lambda function and of its IAM role (at most 64 characters)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be 1-64 letters, digits, hyphens or underscores."
  }
}

variable "description" {
  description = "Description of the function; put the git SHA here so a running function traces back to a commit."
  type        = string
  default     = ""
}

variable "s3_bucket" {
  description = "Bucket that already holds the deployment package (the environment's artifact bucket)."
  type        = string
}

variable "s3_key" {
  description = "Key of the existing, immutable deployment package in s3_bucket (artifacts/<name>/<name>-<sha>.zip)."
  type        = string

  validation {
    condition     = endswith(var.s3_key, ".zip")
    error_message = "s3_key must name a .zip deployment package."
  }
}

variable "s3_version" {
  description = "Version of s3_key to deploy (the one whose checksum was checked); null deploys the current version."
  type        = string
  default     = null
}

variable "source_code_hash" {
  description = "Base64-encoded SHA-256 of the package, so Terraform updates the code exactly when the bytes change."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+/]{43}=$", var.source_code_hash))
    error_message = "source_code_hash must be the base64 SHA-256 of the package (44 characters)."
  }
}

variable "handler" {
  description = "Function entry point, <file>.<export>."
  type        = string
  default     = "main.handler"
}

variable "runtime" {
  description = "Lambda runtime identifier."
  type        = string
  default     = "nodejs22.x"
}

variable "architectures" {
  description = "Instruction set of the function: [\"x86_64\"] or [\"arm64\"]."
  type        = list(string)
  default     = ["x86_64"]
}

variable "memory_size" {
  description = "Memory in MB (128-10240)."
  type        = number
  default     = 256
}

variable "timeout" {
  description = "Timeout in seconds (1-900)."
  type        = number
  default     = 30
}

variable "environment_variables" {
  description = "Environment variables of the function."
  type        = map(string)
  default     = {}
}

variable "asleep" {
  description = "When true the function is kept but throttled: reserved concurrency 0, so it costs nothing and runs nothing."
  type        = bool
  default     = false
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency while awake; -1 leaves the function unreserved. Ignored (0) while asleep."
  type        = number
  default     = -1
}

variable "vpc_subnet_ids" {
  description = "Private subnets to attach the function to; empty keeps it outside any VPC."
  type        = list(string)
  default     = []
}

variable "vpc_security_group_ids" {
  description = "Security groups of the function when it is attached to a VPC."
  type        = list(string)
  default     = []
}

variable "policy_statements" {
  description = "Extra least-privilege IAM statements for the function's role, keyed by statement id (letters and digits)."
  type = map(object({
    actions   = list(string)
    resources = list(string)
  }))
  default = {}

  validation {
    condition     = alltrue([for sid, s in var.policy_statements : can(regex("^[A-Za-z0-9]+$", sid)) && !contains(s.actions, "*")])
    error_message = "Statement ids are letters and digits; an action of \"*\" is not allowed."
  }
}

variable "permissions_boundary" {
  description = "ARN of the permissions boundary attached to the function's role (null for none)."
  type        = string
  default     = null
}

variable "log_retention_in_days" {
  description = "Retention of the function's CloudWatch log group."
  type        = number
  default     = 14
}

variable "tags" {
  description = "Tags of every resource the module creates (git SHA, biome, owner...)."
  type        = map(string)
  default     = {}
}
