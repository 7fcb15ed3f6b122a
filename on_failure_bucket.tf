# An S3 bucket as the on-failure destination (on_failure_bucket.create): Lambda writes
# every batch it gives up on there whole, the invocation record with the batch's records,
# under aws/lambda/<mapping UUID>/<shard id>/YYYY/MM/DD/<time>-<random UUID>. The records
# then outlive the stream's 24 hours; the SQS destination gets the batch's coordinates only.
# Built like the claim-check bucket (claim_check.tf): a name from plan-time values that
# follows `name` and is guarded against a rename, public access blocked, SSE, objects that
# expire, a policy that admits only the function's writes and only over TLS.

locals {
  create_on_failure_bucket = var.create_event_source_mapping && var.on_failure_bucket.create

  # Global, lowercase, at most 63 characters: like the claim-check bucket's, with "failed".
  on_failure_bucket_name = var.on_failure_bucket.name != null ? var.on_failure_bucket.name : join("-", [
    trim(substr(replace(lower(local.name), "/[^a-z0-9-]/", "-"), 0, 16), "-"),
    substr(sha1(local.name), 0, 6), "failed", local.account_id, local.region,
  ])
  on_failure_bucket_arn = "arn:${local.partition}:s3:::${local.on_failure_bucket_name}"

  # The account whose bucket may receive failed batches: this one for the module's bucket,
  # on_failure_destination_bucket_owner (default this one) for a bucket given by ARN.
  on_failure_bucket_owner = (
    local.create_on_failure_bucket ? local.account_id : coalesce(var.on_failure_destination_bucket_owner, local.account_id)
  )
}

resource "aws_s3_bucket" "on_failure" {
  #checkov:skip=CKV_AWS_18:Access logging needs a log bucket the user owns; objects are written only by the function's role, which the bucket policy enforces.
  #checkov:skip=CKV_AWS_21:Versioning would keep copies of failed batches past their expiration; every object is written once under a new key.
  #checkov:skip=CKV_AWS_144:Cross-region replication of failed batches kept for a replay is the user's choice, not a module default.
  #checkov:skip=CKV2_AWS_62:Failed batches are announced by the function's alarms (errors, iterator age, delivery failures), not by S3 notifications.
  #checkov:skip=CKV_AWS_145:SSE-KMS with a customer key is an input (on_failure_bucket.kms_key_arn); SSE-S3 otherwise.
  #checkov:skip=CKV2_AWS_6:The public access block is aws_s3_bucket_public_access_block.on_failure below (checkov does not link counted resources in a module call).
  #checkov:skip=CKV2_AWS_61:The lifecycle is aws_s3_bucket_lifecycle_configuration.on_failure below (checkov does not link counted resources in a module call).
  count = local.create_on_failure_bucket ? 1 : 0

  bucket        = local.on_failure_bucket_name
  force_destroy = var.on_failure_bucket.force_destroy
  tags          = var.tags

  lifecycle {
    precondition {
      condition     = var.on_failure_destination_arn == null
      error_message = "on_failure_destination_arn is set while on_failure_bucket.create = true: a mapping has one on-failure destination. Remove on_failure_destination_arn to use the module's bucket, or set on_failure_bucket.create = false to use yours."
    }
    precondition {
      condition     = terraform_data.on_failure_bucket_name[0].output == local.on_failure_bucket_name
      error_message = "The on-failure bucket would be renamed from ${coalesce(terraform_data.on_failure_bucket_name[0].output, "-")} to ${local.on_failure_bucket_name} (its name follows the module's name), which replaces it and the failed batches it keeps. To keep it, set on_failure_bucket.name = \"${coalesce(terraform_data.on_failure_bucket_name[0].output, "-")}\". To move to a new bucket on purpose, run apply with -replace on this module's terraform_data.on_failure_bucket_name[0] (the old bucket is deleted only when empty or with on_failure_bucket.force_destroy = true)."
    }
  }
}

# The bucket's name when it was created: a later plan that computes another name (a rename
# of `name`) fails instead of replacing the bucket.
resource "terraform_data" "on_failure_bucket_name" {
  count = local.create_on_failure_bucket ? 1 : 0

  input = local.on_failure_bucket_name

  lifecycle {
    ignore_changes = [input]
  }
}

# Failed batches are whole table items and are read back by a replay, so, as for the queues
# (queues.tf): only the function's role may write objects (Lambda writes them with the
# execution role; matched by aws:PrincipalArn, which a re-created role still matches), and
# no request without TLS is served. Reading, listing and deleting stay with IAM.
resource "aws_s3_bucket_policy" "on_failure" {
  count = local.create_on_failure_bucket ? 1 : 0

  bucket = aws_s3_bucket.on_failure[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyWritingByOthers"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:PutObject"
        Resource  = "${local.on_failure_bucket_arn}/*"
        Condition = { ArnNotEquals = { "aws:PrincipalArn" = [local.function_role_arn_for_policy] } }
      },
      {
        Sid       = "DenyRequestsWithoutTLS"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [local.on_failure_bucket_arn, "${local.on_failure_bucket_arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })

  # A bucket policy written while the public access block is being set can be refused.
  depends_on = [aws_s3_bucket_public_access_block.on_failure]
}

resource "aws_s3_bucket_public_access_block" "on_failure" {
  count = local.create_on_failure_bucket ? 1 : 0

  bucket                  = aws_s3_bucket.on_failure[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "on_failure" {
  count = local.create_on_failure_bucket ? 1 : 0

  bucket = aws_s3_bucket.on_failure[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.on_failure_bucket.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.on_failure_bucket.kms_key_arn
    }
    bucket_key_enabled = var.on_failure_bucket.kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "on_failure" {
  count = local.create_on_failure_bucket ? 1 : 0

  bucket = aws_s3_bucket.on_failure[0].id
  rule {
    id     = "expire-failed-batches"
    status = "Enabled"
    filter {}
    expiration {
      days = var.on_failure_bucket.expiration_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}
