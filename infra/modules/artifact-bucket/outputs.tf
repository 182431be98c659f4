output "bucket_id" {
  description = "Name of the bucket."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the bucket."
  value       = aws_s3_bucket.this.arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the bucket."
  value       = local.kms_key_arn
}

output "replication_role_arn" {
  description = "ARN of the replication role (null when the bucket replicates nowhere)."
  value       = local.replicate ? local.replication_role_arn : null
}
