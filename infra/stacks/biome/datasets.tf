################################################################################
# What a service's settings let it read: shared data sets and secrets
#
# Rendered by the plugin per service (tfvars services.<name>):
#   data_sets          name → prefix in the environment's data-set bucket
#   ssm_parameter_arns SSM parameters its settings refer to (ssm:<name>)
#   secret_arns        Secrets Manager secrets its settings refer to
# Each function role gets exactly these, read-only, in a policy of its own:
# GetObject below each prefix, ListBucket limited to the prefixes, never a
# write, never another environment's bucket (data_set_bucket is rendered from
# the biome's own environment). The values of secrets are never in the
# tfvars or the state: only their names are.
################################################################################

variable "data_set_bucket" {
  description = "The environment's shared data-set bucket (created by the shared stack)."
  type        = string
  default     = null

  validation {
    condition     = var.data_set_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.data_set_bucket))
    error_message = "data_set_bucket must be a valid S3 bucket name."
  }
}

locals {
  data_set_bucket     = coalesce(var.data_set_bucket, "${var.name_prefix}-datasets-${var.environment}-${var.aws_account_id}")
  data_set_bucket_arn = "arn:${local.partition}:s3:::${local.data_set_bucket}"

  # One policy per kind of read, only for the services that have some: each
  # policy is a literal list of statements (checked statically and by
  # terraform test), and an empty Resource list never reaches IAM.
  data_set_reads  = { for name, s in var.services : name => sort(distinct(values(s.data_sets))) if length(s.data_sets) > 0 }
  parameter_reads = { for name, s in var.services : name => sort(distinct(s.ssm_parameter_arns)) if length(s.ssm_parameter_arns) > 0 }
  secret_reads    = { for name, s in var.services : name => sort(distinct(s.secret_arns)) if length(s.secret_arns) > 0 }
}

resource "aws_iam_role_policy" "read_data_sets" {
  for_each = local.data_set_reads

  name = "read-data-sets"
  role = module.service[each.key].role_name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadDataSetObjects"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = [for p in each.value : "${local.data_set_bucket_arn}/${p}/*"]
      },
      {
        Sid       = "ListDataSetPrefixes"
        Effect    = "Allow"
        Action    = ["s3:ListBucket"]
        Resource  = [local.data_set_bucket_arn]
        Condition = { StringLike = { "s3:prefix" = flatten([for p in each.value : [p, "${p}/*"]]) } }
      },
    ]
  })

  lifecycle {
    precondition {
      condition     = alltrue([for p in each.value : length(p) > 0 && !startswith(p, "/") && !endswith(p, "/") && !strcontains(p, "*") && !strcontains(p, "?")])
      error_message = "Data-set prefixes of ${each.key} must be non-empty, without leading or trailing slash and without wildcards."
    }
  }
}

resource "aws_iam_role_policy" "read_parameters" {
  for_each = local.parameter_reads

  name = "read-parameters"
  role = module.service[each.key].role_name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadReferencedParameters"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter"]
        Resource = each.value
      },
    ]
  })

  lifecycle {
    precondition {
      condition     = alltrue([for a in each.value : startswith(a, "arn:${local.partition}:ssm:${var.aws_region}:${var.aws_account_id}:parameter/${var.name_prefix}/${var.environment}/")])
      error_message = "Parameters ${each.key} refers to must be /${var.name_prefix}/${var.environment}/... in the biome's own account and region."
    }
  }
}

resource "aws_iam_role_policy" "read_secrets" {
  for_each = local.secret_reads

  name = "read-secrets"
  role = module.service[each.key].role_name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadReferencedSecrets"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = each.value
      },
    ]
  })

  lifecycle {
    precondition {
      condition     = alltrue([for a in each.value : startswith(a, "arn:${local.partition}:secretsmanager:${var.aws_region}:${var.aws_account_id}:secret:${var.name_prefix}/${var.environment}/")])
      error_message = "Secrets ${each.key} refers to must be ${var.name_prefix}/${var.environment}/... in the biome's own account and region."
    }
  }
}
