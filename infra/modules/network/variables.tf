variable "name" {
  description = "Name of the VPC and prefix of its parts, e.g. geo-dev."
  type        = string
}

variable "cidr_block" {
  description = "CIDR block of the VPC."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0))
    error_message = "cidr_block must be a valid IPv4 CIDR block."
  }
}

variable "az_count" {
  description = "Number of availability zones with a private subnet (RDS needs at least 2)."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 4
    error_message = "az_count must be between 2 and 4."
  }
}

variable "enable_nat_gateway" {
  description = "Create ONE NAT gateway (plus public subnets and an internet gateway) for outbound internet. Off by default: a NAT gateway is billed per hour and per GB even when idle; AWS services are reached through VPC endpoints instead."
  type        = bool
  default     = false
}

variable "interface_endpoints" {
  description = "AWS services reached through interface endpoints (each is billed per hour per AZ), e.g. [\"sagemaker.runtime\", \"secretsmanager\"]. The S3 gateway endpoint is always created (it is free)."
  type        = list(string)
  default     = ["sagemaker.runtime"]
}

variable "tags" {
  description = "Tags of every resource the module creates."
  type        = map(string)
  default     = {}
}
