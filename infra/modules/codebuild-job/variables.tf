variable "name" {
  description = "Name of the CodeBuild project and of its service role, e.g. geo-deploy-dev."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{1,63}$", var.name))
    error_message = "name must be 2-64 letters, digits, hyphens or underscores."
  }
}

variable "description" {
  description = "Description of the project."
  type        = string
  default     = ""
}

variable "buildspec" {
  description = "Path of the buildspec in the repository, e.g. buildspecs/deploy.yml."
  type        = string

  validation {
    condition     = can(regex("^buildspecs/[a-z0-9-]+\\.yml$", var.buildspec))
    error_message = "buildspec must be buildspecs/<job>.yml."
  }
}

variable "source_type" {
  description = "CodeBuild source provider: GITLAB, GITLAB_SELF_MANAGED, or CODEPIPELINE for a project that only a pipeline runs."
  type        = string
  default     = "GITLAB"
}

variable "source_location" {
  description = "HTTPS clone URL of the repository (ignored with source_type CODEPIPELINE)."
  type        = string
}

variable "cache" {
  description = "Build cache for the buildspec's cache.paths: LOCAL (modes LOCAL_CUSTOM_CACHE, LOCAL_SOURCE_CACHE; on the build host, best effort), S3 (location bucket/prefix, durable) or NO_CACHE."
  type = object({
    type     = string
    modes    = optional(list(string), ["LOCAL_CUSTOM_CACHE", "LOCAL_SOURCE_CACHE"])
    location = optional(string)
  })
  default = { type = "LOCAL" }

  validation {
    condition     = contains(["LOCAL", "S3", "NO_CACHE"], var.cache.type)
    error_message = "cache.type must be LOCAL, S3 or NO_CACHE."
  }

  validation {
    condition     = var.cache.type != "S3" || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9!_.*'()-]+)+$", var.cache.location))
    error_message = "An S3 cache needs location = \"<bucket>/<prefix>\" (a prefix of its own per project)."
  }

  validation {
    condition     = var.cache.type != "LOCAL" || alltrue([for m in var.cache.modes : contains(["LOCAL_CUSTOM_CACHE", "LOCAL_SOURCE_CACHE", "LOCAL_DOCKER_LAYER_CACHE"], m)])
    error_message = "LOCAL cache modes are LOCAL_CUSTOM_CACHE, LOCAL_SOURCE_CACHE and LOCAL_DOCKER_LAYER_CACHE."
  }
}

variable "source_connection_arn" {
  description = "CodeConnections connection that authorises CodeBuild to clone the repository (null when the source needs none)."
  type        = string
  default     = null
}

variable "compute_type" {
  description = "Build instance size."
  type        = string
  default     = "BUILD_GENERAL1_MEDIUM"
}

variable "image" {
  description = "Build image (must provide Node.js 20 and git)."
  type        = string
  default     = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
}

variable "build_timeout" {
  description = "Build timeout in minutes."
  type        = number
  default     = 60
}

variable "concurrent_build_limit" {
  description = "Maximum concurrent builds of the project (null for the account default)."
  type        = number
  default     = null
}

variable "environment_variables" {
  description = "Plain-text environment variables of every build (biome and base are passed per build)."
  type        = map(string)
  default     = {}
}

variable "policy_statements" {
  description = "Least-privilege IAM statements of the build's service role, keyed by statement id (letters and digits)."
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

variable "log_retention_in_days" {
  description = "Retention of the build logs."
  type        = number
  default     = 90
}

variable "tags" {
  description = "Tags of every resource the module creates."
  type        = map(string)
  default     = {}
}

variable "batch_builds" {
  description = "Batch builds (StartBuildBatch, buildspecs/deploy-batch.yml): at most this many builds in one batch, and how long a batch may run. null turns batch builds off."
  type = object({
    maximum_builds  = number
    timeout_minutes = number
  })
  default = {
    maximum_builds  = 8
    timeout_minutes = 120
  }
}
