variable "bucket" {
  description = "Name of the bucket (3-63 characters, globally unique)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket))
    error_message = "bucket must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)."
  }
}

variable "kms_key_arn" {
  description = "Existing KMS key for SSE-KMS; null creates a dedicated key with rotation enabled."
  type        = string
  default     = null
}

variable "kms_key_deletion_window_in_days" {
  description = "Waiting period before a created KMS key is deleted."
  type        = number
  default     = 30
}

variable "force_destroy" {
  description = "Allow Terraform to delete the bucket with its objects (keep false for artifact buckets)."
  type        = bool
  default     = false
}

variable "abort_incomplete_multipart_upload_days" {
  description = "Days after which incomplete multipart uploads are aborted (their parts are billed until then)."
  type        = number
  default     = 7
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which noncurrent object versions expire; 0 keeps them forever."
  type        = number
  default     = 0
}

variable "replication_destinations" {
  description = "Buckets in other (workload) accounts this bucket replicates to, keyed by a rule id. Replicas become owned by the destination account and are encrypted with its key."
  type = map(object({
    bucket_arn               = string
    account_id               = string
    kms_key_arn              = string
    prefix                   = optional(string, "")
    storage_class            = optional(string, "STANDARD")
    replication_time_control = optional(bool, false)
  }))
  default = {}
}

variable "create_replication_role" {
  description = "Create the role S3 assumes to replicate (<bucket>-replication); false uses replication_role_arn. A plain bool so count never depends on an ARN known only after apply."
  type        = bool
  default     = true
}

variable "replication_role_arn" {
  description = "Existing IAM role S3 assumes to replicate (its policy is attached here) when create_replication_role is false. Pass one when destination policies must name the role before this module runs."
  type        = string
  default     = null
}

variable "replication_source_role_arns" {
  description = "Replication roles (in other accounts) allowed to replicate into this bucket and encrypt with its key."
  type        = list(string)
  default     = []
}

variable "read_principal_arns" {
  description = "Principals in other accounts allowed to read objects (and decrypt them with the bucket key)."
  type        = list(string)
  default     = []
}

variable "artifact_head_principal_arns" {
  description = "Principals in other accounts allowed to list the bucket and HEAD (GetObject, without a key grant) objects below artifacts/, e.g. to wait for replication."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags of every resource the module creates."
  type        = map(string)
  default     = {}
}

