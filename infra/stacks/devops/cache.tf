################################################################################
# Shared Nx build cache (docs/pipeline.md, "Shared build cache").
#
# Each CI job starts `nx run infra:cache-serve` on loopback with its own
# credentials and names its scope (BIOME_NX_CACHE_SCOPE, or its ref):
#   <prefix>/main/<hash>.tar.gz                 the protected branch
#   <prefix>/branches/<OIDC sub>/~/<hash>.tar.gz  one GitLab branch
# A poisoned entry in main's scope would be restored by every later main build
# (CVE-2025-36852), so only main's builders write there: the main CodeBuild
# deploy projects (which build only the protected branch: GitLab starts them
# with their buildspec fixed, CodePipeline from the branch) and, while GitLab
# drives main, the release role (protected refs). The bucket policy denies
# everyone else, whatever identity policies say. A GitLab branch job writes
# only below its own token's sub (a policy variable IAM fills from the ID
# token; `~` cannot occur in a git ref, so no branch's folder holds another's).
# The sandpit CodeBuild projects run any branch and cannot prove which: they
# read main's scope and write nothing. Entries are written once (If-None-Match)
# and never deleted by a principal: the lifecycle rules expire them.
################################################################################

variable "nx_cache_main_expiry_days" {
  description = "Days an entry of the default branch's cache scope is kept (entries are rebuilt on a miss)."
  type        = number
  default     = 14

  validation {
    condition     = var.nx_cache_main_expiry_days >= 1
    error_message = "nx_cache_main_expiry_days must be at least 1."
  }
}

variable "nx_cache_branch_expiry_days" {
  description = "Days an entry of a branch's cache scope is kept."
  type        = number
  default     = 3

  validation {
    condition     = var.nx_cache_branch_expiry_days >= 1
    error_message = "nx_cache_branch_expiry_days must be at least 1."
  }
}

locals {
  nx_cache_bucket = "${var.name_prefix}-devops-nx-cache-${var.devops_account_id}"
  nx_cache_prefix = "nx"
  nx_cache_arn    = "arn:aws:s3:::${local.nx_cache_bucket}"

  # CodeBuild projects that build (and so read the cache; the main ones write main's scope).
  nx_cache_codebuild_jobs = { for key, job in local.jobs : key => job if job.job == "deploy" }
  nx_cache_main_writers = concat(
    [for key, job in local.nx_cache_codebuild_jobs : module.codebuild[key].role_arn if job.trust == "main"],
    local.use_pipeline ? [] : [aws_iam_role.gitlab_release.arn],
  )
}

resource "aws_s3_bucket" "nx_cache" {
  bucket = local.nx_cache_bucket
  # Only rebuildable build outputs live here.
  force_destroy = true
  tags          = merge(local.tags, { purpose = "nx-build-cache" })
}

resource "aws_s3_bucket_public_access_block" "nx_cache" {
  bucket                  = aws_s3_bucket.nx_cache.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "nx_cache" {
  bucket = aws_s3_bucket.nx_cache.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "nx_cache" {
  bucket = aws_s3_bucket.nx_cache.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "nx_cache" {
  bucket = aws_s3_bucket.nx_cache.id

  rule {
    id     = "expire-main-scope"
    status = "Enabled"

    filter {
      prefix = "${local.nx_cache_prefix}/main/"
    }

    expiration {
      days = var.nx_cache_main_expiry_days
    }
  }

  rule {
    id     = "expire-branch-scopes"
    status = "Enabled"

    filter {
      prefix = "${local.nx_cache_prefix}/branches/"
    }

    expiration {
      days = var.nx_cache_branch_expiry_days
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "nx_cache_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.nx_cache_arn, "${local.nx_cache_arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # Main's scope is written by main's builders only, whatever identity policies say.
  statement {
    sid       = "OnlyMainBuildersWriteMainScope"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${local.nx_cache_arn}/${local.nx_cache_prefix}/main/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = local.nx_cache_main_writers
    }
  }

  # An entry is written once: a write that would replace one is refused.
  statement {
    sid       = "EntriesWrittenOnce"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${local.nx_cache_arn}/${local.nx_cache_prefix}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Null"
      variable = "s3:if-none-match"
      values   = ["true"]
    }
  }

  statement {
    sid       = "EntriesNeverDeleted"
    effect    = "Deny"
    actions   = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
    resources = ["${local.nx_cache_arn}/${local.nx_cache_prefix}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }
}

resource "aws_s3_bucket_policy" "nx_cache" {
  bucket = aws_s3_bucket.nx_cache.id
  policy = data.aws_iam_policy_document.nx_cache_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.nx_cache]
}

# A GitLab branch job (the any-branch role): reads main's scope and its own,
# writes its own only. &{...} is the provider's spelling of the IAM policy
# variable ${<gitlab host>:sub} (the job's ID token subject). ListBucket on the
# scopes makes a missing entry a 404 (a miss) instead of a 403.
data "aws_iam_policy_document" "nx_cache_branch" {
  statement {
    sid       = "ReadMainAndOwnScope"
    actions   = ["s3:GetObject"]
    resources = ["${local.nx_cache_arn}/${local.nx_cache_prefix}/main/*", "${local.nx_cache_arn}/${local.nx_cache_prefix}/branches/&{${local.gitlab_host}:sub}/~/*"]
  }

  statement {
    sid       = "WriteOwnScope"
    actions   = ["s3:PutObject"]
    resources = ["${local.nx_cache_arn}/${local.nx_cache_prefix}/branches/&{${local.gitlab_host}:sub}/~/*"]
  }

  statement {
    sid       = "ListCacheScopes"
    actions   = ["s3:ListBucket"]
    resources = [local.nx_cache_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.nx_cache_prefix}/main/*", "${local.nx_cache_prefix}/branches/&{${local.gitlab_host}:sub}/~/*"]
    }
  }
}

# A sandpit CodeBuild project: reads main's scope, writes nothing.
data "aws_iam_policy_document" "nx_cache_read_main" {
  statement {
    sid       = "ReadMainScope"
    actions   = ["s3:GetObject"]
    resources = ["${local.nx_cache_arn}/${local.nx_cache_prefix}/main/*"]
  }

  statement {
    sid       = "ListMainScope"
    actions   = ["s3:ListBucket"]
    resources = [local.nx_cache_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.nx_cache_prefix}/main/*"]
    }
  }
}

# Main's builders: read and write main's scope only.
data "aws_iam_policy_document" "nx_cache_release" {
  statement {
    sid       = "ReadWriteMainScope"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${local.nx_cache_arn}/${local.nx_cache_prefix}/main/*"]
  }

  statement {
    sid       = "ListMainScope"
    actions   = ["s3:ListBucket"]
    resources = [local.nx_cache_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.nx_cache_prefix}/main/*"]
    }
  }
}

resource "aws_iam_role_policy" "gitlab_sandpit_nx_cache" {
  name   = "nx-cache"
  role   = aws_iam_role.gitlab_sandpit.id
  policy = data.aws_iam_policy_document.nx_cache_branch.json
}

# Under CodePipeline the release role builds nothing of main: it reads main's scope only.
resource "aws_iam_role_policy" "gitlab_release_nx_cache" {
  name   = "nx-cache"
  role   = aws_iam_role.gitlab_release.id
  policy = local.use_pipeline ? data.aws_iam_policy_document.nx_cache_read_main.json : data.aws_iam_policy_document.nx_cache_release.json
}

# Main deploy projects fill main's scope; sandpit projects only read it.
resource "aws_iam_role_policy" "codebuild_nx_cache" {
  for_each = local.nx_cache_codebuild_jobs

  name   = "nx-cache"
  role   = module.codebuild[each.key].role_name
  policy = each.value.trust == "main" ? data.aws_iam_policy_document.nx_cache_release.json : data.aws_iam_policy_document.nx_cache_read_main.json
}

output "nx_cache_url" {
  description = "The shared Nx cache (BIOME_NX_CACHE of the CI jobs; nx run infra:cache-serve serves it)."
  value       = "s3://${aws_s3_bucket.nx_cache.bucket}/${local.nx_cache_prefix}"
}
