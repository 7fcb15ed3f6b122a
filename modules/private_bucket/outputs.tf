output "name" {
  description = "The bucket's name."
  value       = aws_s3_bucket.this.bucket
}

output "arn" {
  description = "The bucket's ARN (known once the bucket exists: a reference waits for it)."
  value       = aws_s3_bucket.this.arn
}

# The resources whole, so that the calling module's tests can assert on every argument.
output "bucket" {
  description = "The aws_s3_bucket resource."
  value       = aws_s3_bucket.this
}

output "public_access_block" {
  description = "The aws_s3_bucket_public_access_block resource."
  value       = aws_s3_bucket_public_access_block.this
}

output "server_side_encryption_configuration" {
  description = "The aws_s3_bucket_server_side_encryption_configuration resource."
  value       = aws_s3_bucket_server_side_encryption_configuration.this
}

output "lifecycle_configuration" {
  description = "The aws_s3_bucket_lifecycle_configuration resource."
  value       = aws_s3_bucket_lifecycle_configuration.this
}

output "policy" {
  description = "The aws_s3_bucket_policy resource; null when it has no statement (tls_only = false and no exclusive_writer_arns)."
  value       = one(aws_s3_bucket_policy.this)
}
