variable "name_prefix" {
  description = "Prefix of every AWS name (nx-biome.json namePrefix)."
  type        = string
  default     = "geo"
}

variable "environment" {
  description = "Environment this stack serves: dev, staging or prod."
  type        = string
}

variable "aws_region" {
  description = "Region of the environment."
  type        = string
}

variable "aws_account_id" {
  description = "Workload account of the environment; the provider refuses any other."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id must be a 12-digit AWS account id."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the environment's VPC."
  type        = string
  default     = "10.40.0.0/16"
}

variable "enable_nat_gateway" {
  description = "Create one NAT gateway for internet egress. Off by default: it is billed hourly even when idle; the VPC reaches S3 and SageMaker through endpoints."
  type        = bool
  default     = false
}

variable "interface_endpoints" {
  description = "Interface endpoints of the VPC (billed hourly per AZ)."
  type        = list(string)
  default     = ["sagemaker.runtime"]
}

variable "db_instance_class" {
  description = "Instance class of the shared Postgres instance."
  type        = string
  default     = "db.t4g.micro"
}

variable "db_engine_version" {
  description = "Postgres major version."
  type        = string
  default     = "16"
}

variable "db_allocated_storage" {
  description = "Storage in GB (grows automatically up to db_max_allocated_storage)."
  type        = number
  default     = 20
}

variable "db_max_allocated_storage" {
  description = "Upper bound of storage autoscaling in GB."
  type        = number
  default     = 100
}

variable "db_multi_az" {
  description = "Run a standby in a second AZ (doubles the instance cost; for prod)."
  type        = bool
  default     = false
}

variable "db_deletion_protection" {
  description = "Protect the shared instance from deletion."
  type        = bool
  default     = true
}

variable "db_backup_retention_days" {
  description = "Days of automated backups."
  type        = number
  default     = 7
}

variable "model_prefix" {
  description = "Prefix of the models bucket the multi-model endpoint loads from (nx-biome.json modelPrefix)."
  type        = string
  default     = "models/"
}

variable "inference_image" {
  description = "ECR image URI of the multi-model inference container (must support MultiModel mode)."
  type        = string
}

variable "endpoint_instance_type" {
  description = "Instance type of the multi-model endpoint."
  type        = string
  default     = "ml.m5.large"
}

variable "endpoint_instance_count" {
  description = "Instances behind the multi-model endpoint."
  type        = number
  default     = 1
}

variable "tags" {
  description = "Extra tags of every resource."
  type        = map(string)
  default     = {}
}

variable "artifact_deployer_s3_key" {
  description = "Key of the artifact deployer's package in the environment's artifact bucket (artifacts/artifact-deployer/artifact-deployer-<sha>.zip); null deploys no artifact deployer."
  type        = string
  default     = null

  validation {
    condition     = var.artifact_deployer_s3_key == null || can(regex("^artifacts/artifact-deployer/artifact-deployer-[^/]+\\.zip$", var.artifact_deployer_s3_key))
    error_message = "artifact_deployer_s3_key must be artifacts/artifact-deployer/artifact-deployer-<sha>.zip."
  }
}

variable "artifact_deployer_source_code_hash" {
  description = "Base64 SHA-256 of the artifact deployer's package (set together with artifact_deployer_s3_key)."
  type        = string
  default     = null

  validation {
    condition     = (var.artifact_deployer_source_code_hash == null) == (var.artifact_deployer_s3_key == null)
    error_message = "Set artifact_deployer_s3_key and artifact_deployer_source_code_hash together, or neither."
  }
}

variable "artifact_deployer_log_retention_in_days" {
  description = "Retention of the artifact deployer's CloudWatch log group."
  type        = number
  default     = 30
}

variable "artifact_deployer_alarm_actions" {
  description = "ARNs notified (e.g. an SNS topic) when a ledger record lands in the artifact deployer's dead-letter queue."
  type        = list(string)
  default     = []
}

variable "schema_manager_s3_key" {
  description = "Key of the schema manager's package in the environment's artifact bucket (artifacts/schema-manager/schema-manager-<sha>.zip); null deploys none (biomes then need database_enabled = false)."
  type        = string
  default     = null

  validation {
    condition     = var.schema_manager_s3_key == null || can(regex("^artifacts/schema-manager/schema-manager-[^/]+\\.zip$", var.schema_manager_s3_key))
    error_message = "schema_manager_s3_key must be artifacts/schema-manager/schema-manager-<sha>.zip."
  }
}

variable "schema_manager_source_code_hash" {
  description = "Base64 SHA-256 of the schema manager's package (set together with schema_manager_s3_key)."
  type        = string
  default     = null

  validation {
    condition     = (var.schema_manager_source_code_hash == null) == (var.schema_manager_s3_key == null)
    error_message = "Set schema_manager_s3_key and schema_manager_source_code_hash together, or neither."
  }
}

variable "schema_manager_log_retention_in_days" {
  description = "Retention of the schema manager's CloudWatch log group."
  type        = number
  default     = 30
}

variable "sandpit_schema_manager" {
  description = "Also deploy <name_prefix>-schema-manager-<environment>-sandpit (same package), which serves only sandpit schemas biome_<environment>_*: set it in multi-tenant environments, whose sandpit deploy role may invoke only that one."
  type        = bool
  default     = false
}
