################################################################################
# Shared data sets: one bucket per environment, read by biome functions
#
# Named data sets are prefixes of this bucket, declared in nx-biome.json
# (environments.<env>.dataSets: name → prefix, description, owner). A service
# lists the data sets it reads (settings.dataSets); the biome stack grants its
# function role s3:GetObject on <prefix>/* and s3:ListBucket limited to those
# prefixes, nothing else. The plugin names the bucket by the same rule
# (dataSetBucketName in tools/nx-biome/src/core/settings.ts).
################################################################################

variable "data_set_bucket" {
  description = "Name of the environment's shared data-set bucket; null uses <name_prefix>-datasets-<environment>-<aws_account_id> (nx-biome.json environments.<env>.dataSetBucket must match)."
  type        = string
  default     = null
}

variable "data_set_noncurrent_version_days" {
  description = "Days an overwritten or deleted data-set object is kept as a noncurrent version (versioning lets a bad upload be undone)."
  type        = number
  default     = 90

  validation {
    condition     = var.data_set_noncurrent_version_days >= 1
    error_message = "data_set_noncurrent_version_days must be at least 1."
  }
}

variable "data_set_tiering_days" {
  description = "Days after which data-set objects move to S3 Intelligent-Tiering (reference data is read in bursts)."
  type        = number
  default     = 30
}

locals {
  data_set_bucket     = coalesce(var.data_set_bucket, "${var.name_prefix}-datasets-${var.environment}-${var.aws_account_id}")
  data_set_bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${local.data_set_bucket}"
  # Every role a biome creates is named <prefix>-<biome>-..., and biome names start with the environment's.
  biome_role_pattern = "arn:${data.aws_partition.current.partition}:iam::${var.aws_account_id}:role/${var.name_prefix}-${var.environment}-*"
}

resource "aws_s3_bucket" "data_sets" {
  bucket = local.data_set_bucket

  # Reference data outlives any apply: never emptied by Terraform.
  force_destroy = false
}

resource "aws_s3_bucket_ownership_controls" "data_sets" {
  bucket = aws_s3_bucket.data_sets.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "data_sets" {
  bucket = aws_s3_bucket.data_sets.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "data_sets" {
  bucket = aws_s3_bucket.data_sets.id

  versioning_configuration {
    status = "Enabled"
  }
}

# SSE-KMS with the account's AWS managed key (aws/s3): readers in the account
# need no key grant of their own, and the bucket key keeps KMS calls (and
# their cost) down when functions read many objects.
resource "aws_s3_bucket_server_side_encryption_configuration" "data_sets" {
  bucket = aws_s3_bucket.data_sets.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "data_sets" {
  bucket = aws_s3_bucket.data_sets.id

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.data_set_noncurrent_version_days
    }

    expiration {
      expired_object_delete_marker = true
    }
  }

  rule {
    id     = "intelligent-tiering"
    status = "Enabled"

    filter {}

    transition {
      days          = var.data_set_tiering_days
      storage_class = "INTELLIGENT_TIERING"
    }
  }

  depends_on = [aws_s3_bucket_versioning.data_sets]
}

# Belt and braces: whatever a biome role's own policy says, no biome role
# writes or deletes shared data, and nothing reaches it without TLS.
resource "aws_s3_bucket_policy" "data_sets" {
  bucket = aws_s3_bucket.data_sets.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [local.data_set_bucket_arn, "${local.data_set_bucket_arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "DenyBiomeRolesWriting"
        Effect    = "Deny"
        Principal = "*"
        Action    = ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl", "s3:PutObjectTagging", "s3:RestoreObject"]
        Resource  = "${local.data_set_bucket_arn}/*"
        Condition = { ArnLike = { "aws:PrincipalArn" = local.biome_role_pattern } }
      },
    ]
  })

  depends_on = [aws_s3_bucket_public_access_block.data_sets]
}

output "data_set_bucket" {
  description = "The environment's shared data-set bucket (data_set_bucket in every biome's tfvars)."
  value       = aws_s3_bucket.data_sets.id
}

output "data_set_bucket_arn" {
  description = "ARN of the shared data-set bucket."
  value       = aws_s3_bucket.data_sets.arn
}
