data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  create_kms_key  = var.kms_key_arn == null
  kms_key_arn     = local.create_kms_key ? aws_kms_key.this[0].arn : var.kms_key_arn
  replicate       = length(var.replication_destinations) > 0
  account_root    = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"
  bucket_arn      = "arn:${data.aws_partition.current.partition}:s3:::${var.bucket}"
  replication_ids = sort(keys(var.replication_destinations))

  # From variables known at plan time only: a role ARN passed in is often
  # known only after apply, and count cannot depend on it.
  create_replication_role = local.replicate && var.create_replication_role
  replication_role_arn    = local.create_replication_role ? aws_iam_role.replication[0].arn : var.replication_role_arn
  replication_role_name   = local.create_replication_role ? aws_iam_role.replication[0].name : try(regex("[^/]+$", var.replication_role_arn), null)
}

################################################################################
# Encryption key
################################################################################

data "aws_iam_policy_document" "kms" {
  count = local.create_kms_key ? 1 : 0

  # The account administers its own key through IAM (the AWS default key policy).
  statement {
    sid       = "AccountAdministersKey"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.account_root]
    }
  }

  dynamic "statement" {
    for_each = length(var.replication_source_role_arns) > 0 ? [1] : []

    content {
      sid       = "ReplicationSourcesEncryptReplicas"
      actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
      resources = ["*"]

      principals {
        type        = "AWS"
        identifiers = var.replication_source_role_arns
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.read_principal_arns) > 0 ? [1] : []

    content {
      sid       = "ReadersDecrypt"
      actions   = ["kms:Decrypt"]
      resources = ["*"]

      principals {
        type        = "AWS"
        identifiers = var.read_principal_arns
      }
    }
  }
}

resource "aws_kms_key" "this" {
  count = local.create_kms_key ? 1 : 0

  description             = "SSE-KMS key of s3://${var.bucket}"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.kms[0].json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  count = local.create_kms_key ? 1 : 0

  name          = "alias/${var.bucket}"
  target_key_id = aws_kms_key.this[0].key_id
}

################################################################################
# Bucket
################################################################################

resource "aws_s3_bucket" "this" {
  bucket        = var.bucket
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = local.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_upload_days
    }
  }

  dynamic "rule" {
    for_each = var.noncurrent_version_expiration_days > 0 ? [1] : []

    content {
      id     = "expire-noncurrent-versions"
      status = "Enabled"

      filter {}

      noncurrent_version_expiration {
        noncurrent_days = var.noncurrent_version_expiration_days
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.bucket_arn, "${local.bucket_arn}/*"]

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

  dynamic "statement" {
    for_each = length(var.replication_source_role_arns) > 0 ? [1] : []

    content {
      sid       = "ReplicationSourcesReplicateObjects"
      actions   = ["s3:ReplicateObject", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"]
      resources = ["${local.bucket_arn}/*"]

      principals {
        type        = "AWS"
        identifiers = var.replication_source_role_arns
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.replication_source_role_arns) > 0 ? [1] : []

    content {
      sid       = "ReplicationSourcesReadVersioning"
      actions   = ["s3:GetBucketVersioning", "s3:PutBucketVersioning"]
      resources = [local.bucket_arn]

      principals {
        type        = "AWS"
        identifiers = var.replication_source_role_arns
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.read_principal_arns) > 0 ? [1] : []

    content {
      sid       = "ReadersGetObjects"
      actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"]
      resources = [local.bucket_arn, "${local.bucket_arn}/*"]

      principals {
        type        = "AWS"
        identifiers = var.read_principal_arns
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.artifact_head_principal_arns) > 0 ? [1] : []

    content {
      sid       = "ArtifactHeadersListAndHead"
      actions   = ["s3:ListBucket", "s3:GetObject"]
      resources = [local.bucket_arn, "${local.bucket_arn}/artifacts/*"]

      principals {
        type        = "AWS"
        identifiers = var.artifact_head_principal_arns
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

################################################################################
# Replication to workload accounts
################################################################################

data "aws_iam_policy_document" "replication_assume" {
  count = local.create_replication_role ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "replication" {
  count = local.create_replication_role ? 1 : 0

  name               = "${substr(var.bucket, 0, 52)}-replication"
  assume_role_policy = data.aws_iam_policy_document.replication_assume[0].json
  tags               = var.tags
}

data "aws_iam_policy_document" "replication" {
  count = local.replicate ? 1 : 0

  statement {
    sid       = "ReadSourceConfiguration"
    actions   = ["s3:GetReplicationConfiguration", "s3:ListBucket"]
    resources = [local.bucket_arn]
  }

  statement {
    sid       = "ReadSourceVersions"
    actions   = ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"]
    resources = ["${local.bucket_arn}/*"]
  }

  statement {
    sid       = "WriteReplicas"
    actions   = ["s3:ReplicateObject", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"]
    resources = [for d in values(var.replication_destinations) : "${d.bucket_arn}/*"]
  }

  statement {
    sid       = "DecryptSource"
    actions   = ["kms:Decrypt"]
    resources = [local.kms_key_arn]
  }

  statement {
    sid       = "EncryptReplicas"
    actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
    resources = [for d in values(var.replication_destinations) : d.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "replication" {
  count = local.replicate ? 1 : 0

  name   = "replication"
  role   = local.replication_role_name
  policy = data.aws_iam_policy_document.replication[0].json
}

resource "aws_s3_bucket_replication_configuration" "this" {
  count = local.replicate ? 1 : 0

  bucket = aws_s3_bucket.this.id
  role   = local.replication_role_arn

  dynamic "rule" {
    for_each = var.replication_destinations

    content {
      id       = rule.key
      priority = index(local.replication_ids, rule.key)
      status   = "Enabled"

      filter {
        prefix = rule.value.prefix
      }

      # Artifacts are immutable; a delete in the source never removes a replica.
      delete_marker_replication {
        status = "Disabled"
      }

      source_selection_criteria {
        sse_kms_encrypted_objects {
          status = "Enabled"
        }
      }

      destination {
        bucket        = rule.value.bucket_arn
        account       = rule.value.account_id
        storage_class = rule.value.storage_class

        access_control_translation {
          owner = "Destination"
        }

        encryption_configuration {
          replica_kms_key_id = rule.value.kms_key_arn
        }

        dynamic "replication_time" {
          for_each = rule.value.replication_time_control ? [1] : []

          content {
            status = "Enabled"

            time {
              minutes = 15
            }
          }
        }

        dynamic "metrics" {
          for_each = rule.value.replication_time_control ? [1] : []

          content {
            status = "Enabled"

            event_threshold {
              minutes = 15
            }
          }
        }
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this, aws_iam_role_policy.replication]
}
