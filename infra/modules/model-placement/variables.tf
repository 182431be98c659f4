variable "artifact_bucket" {
  description = "Bucket holding the immutable model artifact (the environment's artifact bucket)."
  type        = string
}

variable "s3_key" {
  description = "Key of the model artifact in artifact_bucket (artifacts/<name>/<name>-<sha>.tar.gz)."
  type        = string

  validation {
    condition     = endswith(var.s3_key, ".tar.gz")
    error_message = "s3_key must name a .tar.gz model archive (the format a multi-model endpoint loads)."
  }
}

variable "models_bucket" {
  description = "Bucket below whose model_prefix the shared multi-model endpoint loads models."
  type        = string
}

variable "model_prefix" {
  description = "Prefix of the endpoint's model_data_url in models_bucket, ending with a slash."
  type        = string
  default     = "models/"

  validation {
    condition     = endswith(var.model_prefix, "/")
    error_message = "model_prefix must end with \"/\"."
  }
}

variable "target_path" {
  description = "Path of the model below model_prefix, <biome>/<artifact file>; it is the TargetModel callers pass to the endpoint."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]+/[A-Za-z0-9._-]+\\.tar\\.gz$", var.target_path))
    error_message = "target_path must be <biome>/<name>-<sha>.tar.gz."
  }
}

variable "sha256" {
  description = "SHA-256 (hex) of the model artifact, recorded in the copy's metadata."
  type        = string
}

variable "git_sha" {
  description = "Commit SHA the model was built from, recorded in the copy's metadata."
  type        = string
}

variable "tags" {
  description = "Object tags of the placed model (S3 allows at most 10, provider default tags included)."
  type        = map(string)
  default     = {}
}
