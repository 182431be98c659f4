################################################################################
# Shared Nx build cache (docs/pipeline.md, "Shared build cache").
#
# Each CI job starts `nx run infra:cache-serve` on loopback with its own
# credentials; entries are <prefix>/main/<hash>.tar.gz (the default branch) and
# <prefix>/branches/<ref>/<hash>.tar.gz (any other ref). A poisoned entry in
# main's scope would be restored by every later main build (CVE-2025-36852), so
# only the release role (protected refs) may write there: branch jobs and the
# CodeBuild projects (which run for any ref) read main's scope and write only
# below branches/. The bucket policy denies everyone else writes to main/ too.
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

  # CodeBuild projects that build (and so read and write the cache).
  nx_cache_codebuild_jobs = { for key, job in local.jobs : key => job if job.job == "deploy" }
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

  # Main's scope is written by protected refs only, whatever identity policies say.
  statement {
    sid       = "OnlyReleaseWritesMainScope"
    effect    = "Deny"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.nx_cache_arn}/${local.nx_cache_prefix}/main/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = [aws_iam_role.gitlab_release.arn]
    }
  }
}

resource "aws_s3_bucket_policy" "nx_cache" {
  bucket = aws_s3_bucket.nx_cache.id
  policy = data.aws_iam_policy_document.nx_cache_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.nx_cache]
}

# Read main's scope and every branch scope, write branch scopes. ListBucket on
# the scopes makes a missing entry a 404 (a miss) instead of a 403.
data "aws_iam_policy_document" "nx_cache_branch" {
  statement {
    sid       = "ReadCache"
    actions   = ["s3:GetObject"]
    resources = ["${local.nx_cache_arn}/${local.nx_cache_prefix}/main/*", "${local.nx_cache_arn}/${local.nx_cache_prefix}/branches/*"]
  }

  statement {
    sid       = "WriteBranchScopes"
    actions   = ["s3:PutObject"]
    resources = ["${local.nx_cache_arn}/${local.nx_cache_prefix}/branches/*"]
  }

  statement {
    sid       = "ListCacheScopes"
    actions   = ["s3:ListBucket"]
    resources = [local.nx_cache_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.nx_cache_prefix}/main/*", "${local.nx_cache_prefix}/branches/*"]
    }
  }
}

# Read and write main's scope only.
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

resource "aws_iam_role_policy" "gitlab_release_nx_cache" {
  name   = "nx-cache"
  role   = aws_iam_role.gitlab_release.id
  policy = data.aws_iam_policy_document.nx_cache_release.json
}

# A CodeBuild project runs for any ref, so it gets the branch policy: on the
# default branch its writes to main/ are refused (the endpoint answers Nx
# "not stored" and the build goes on); main's scope is filled by release jobs.
resource "aws_iam_role_policy" "codebuild_nx_cache" {
  for_each = local.nx_cache_codebuild_jobs

  name   = "nx-cache"
  role   = reverse(split("/", module.codebuild[each.key].role_arn))[0]
  policy = data.aws_iam_policy_document.nx_cache_branch.json
}

output "nx_cache_url" {
  description = "The shared Nx cache (BIOME_NX_CACHE of the CI jobs; nx run infra:cache-serve serves it)."
  value       = "s3://${aws_s3_bucket.nx_cache.bucket}/${local.nx_cache_prefix}"
}
