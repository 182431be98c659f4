output "key" {
  description = "Key of the placed model in the models bucket."
  value       = aws_s3_object_copy.this.key
}

output "model_url" {
  description = "s3:// URL of the placed model."
  value       = "s3://${var.models_bucket}/${aws_s3_object_copy.this.key}"
}

output "target_model" {
  description = "TargetModel to pass to InvokeEndpoint on the shared multi-model endpoint."
  value       = var.target_path
}
