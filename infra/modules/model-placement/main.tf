locals {
  key           = "${var.model_prefix}${var.target_path}"
  artifact_file = element(split("/", var.s3_key), length(split("/", var.s3_key)) - 1)
}

# The endpoint caches a model by key, so a key must never receive other bytes.
# The key ends with the artifact's file name, which carries the commit SHA
# (and a content hash for dirty builds): new bytes always mean a new key and a
# new resource, never an overwrite.
resource "aws_s3_object_copy" "this" {
  bucket = var.models_bucket
  key    = local.key
  source = "${var.artifact_bucket}/${var.s3_key}"

  metadata_directive = "REPLACE"
  metadata = {
    sha256  = var.sha256
    git-sha = var.git_sha
  }

  tagging_directive = "REPLACE"
  tags              = var.tags

  lifecycle {
    precondition {
      condition     = endswith(var.target_path, "/${local.artifact_file}")
      error_message = "target_path must end with the artifact's own file name (${local.artifact_file}); otherwise one key could receive different bytes."
    }

    # Metadata and tag edits must not re-copy onto a key the endpoint may have cached.
    ignore_changes = [tags, metadata]
  }
}
