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

  # Only services that read something get a policy.
  service_reads = {
    for name, s in var.services : name => {
      prefixes = sort(distinct(values(s.data_sets)))
      ssm      = sort(distinct(s.ssm_parameter_arns))
      secrets  = sort(distinct(s.secret_arns))
    } if length(s.data_sets) + length(s.ssm_parameter_arns) + length(s.secret_arns) > 0
  }
}

resource "aws_iam_role_policy" "reads" {
  for_each = local.service_reads

  name = "read-data-sets-and-secrets"
  role = module.service[each.key].role_name

  # jsonencode rather than a policy-document data source: the statements are
  # plain values, checked by terraform test with a mocked provider.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [for s in [
      {
        enabled = length(each.value.prefixes) > 0
        statement = {
          Sid      = "ReadDataSetObjects"
          Effect   = "Allow"
          Action   = ["s3:GetObject"]
          Resource = [for p in each.value.prefixes : "${local.data_set_bucket_arn}/${p}/*"]
        }
      },
      {
        enabled = length(each.value.prefixes) > 0
        statement = {
          Sid       = "ListDataSetPrefixes"
          Effect    = "Allow"
          Action    = ["s3:ListBucket"]
          Resource  = [local.data_set_bucket_arn]
          Condition = { StringLike = { "s3:prefix" = flatten([for p in each.value.prefixes : [p, "${p}/*"]]) } }
        }
      },
      {
        enabled = length(each.value.ssm) > 0
        statement = {
          Sid      = "ReadReferencedParameters"
          Effect   = "Allow"
          Action   = ["ssm:GetParameter"]
          Resource = each.value.ssm
        }
      },
      {
        enabled = length(each.value.secrets) > 0
        statement = {
          Sid      = "ReadReferencedSecrets"
          Effect   = "Allow"
          Action   = ["secretsmanager:GetSecretValue"]
          Resource = each.value.secrets
        }
      },
    ] : s.statement if s.enabled]
  })

  lifecycle {
    precondition {
      condition     = alltrue([for p in each.value.prefixes : !startswith(p, "/") && !endswith(p, "/") && !strcontains(p, "*")])
      error_message = "Data-set prefixes of ${each.key} must have no leading or trailing slash and no wildcard."
    }
    precondition {
      condition     = alltrue([for a in concat(each.value.ssm, each.value.secrets) : startswith(a, "arn:${local.partition}:") && split(":", a)[4] == var.aws_account_id && split(":", a)[3] == var.aws_region])
      error_message = "Secret and parameter ARNs of ${each.key} must be in the biome's own account and region."
    }
  }
}
