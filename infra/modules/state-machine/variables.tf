variable "name" {
  description = "Name of the state machine and of its IAM role (at most 64 characters, the IAM limit)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.name))
    error_message = "name must be 1-64 letters, digits, hyphens or underscores."
  }
}

variable "definition" {
  description = "Amazon States Language definition (JSON), with every service already resolved to its function ARN."
  type        = string

  validation {
    condition     = can(jsondecode(var.definition).StartAt)
    error_message = "definition must be a JSON state machine definition with StartAt."
  }
}

variable "git_sha" {
  description = "Full 40-character commit SHA the workflow artifact was built from; written to the version description and tags."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{40}$", var.git_sha))
    error_message = "git_sha must be a full 40-character lowercase hex SHA."
  }
}

variable "alias_name" {
  description = "Name of the alias that points at the latest published version."
  type        = string
  default     = "live"
}

variable "version_description" {
  description = "Description of the live alias (the commit it runs); null gives \"git <git_sha>\" (with \" (dirty)\" for a dirty build)."
  type        = string
  default     = null
}

variable "dirty" {
  description = "Whether the artifact was built from a dirty working tree (shown in the version description)."
  type        = bool
  default     = false
}

variable "type" {
  description = "STANDARD or EXPRESS."
  type        = string
  default     = "STANDARD"

  validation {
    condition     = contains(["STANDARD", "EXPRESS"], var.type)
    error_message = "type must be STANDARD or EXPRESS."
  }
}

variable "lambda_function_arns" {
  description = "Functions the state machine invokes; its role may invoke these and nothing else."
  type        = list(string)
  default     = []
}

variable "log_level" {
  description = "Execution history sent to CloudWatch Logs: ALL, ERROR, FATAL or OFF."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.log_level)
    error_message = "log_level must be ALL, ERROR, FATAL or OFF."
  }
}

variable "include_execution_data" {
  description = "Whether logs include execution input and output (may contain business data)."
  type        = bool
  default     = false
}

variable "log_retention_in_days" {
  description = "Retention of the state machine's CloudWatch log group."
  type        = number
  default     = 14
}

variable "permissions_boundary" {
  description = "ARN of the permissions boundary attached to the state machine's role (null for none)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags of every resource the module creates."
  type        = map(string)
  default     = {}
}
