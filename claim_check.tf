# Claim-check for events too large for the bus (or for the targets behind it): the
# function stores the whole event in S3 and publishes a pointer event instead of
# dead-lettering it. The bucket is the user's (large_event_bucket) or created here.
# Counts depend only on the bucket name input being set and on bools, all known at plan;
# the created bucket's name is built from plan-time values too, so the first plan shows
# the whole policy.

locals {
  create_large_event_bucket = var.create_large_event_bucket
  claim_check_enabled       = var.create_large_event_bucket || var.large_event_bucket != null

  # Bucket names are global, lowercase, at most 63 characters: a readable part of the
  # name, a hash of the whole name, the account and the region.
  # The hash is of the name as given, so names that lowercase alike still differ.
  large_event_bucket_name = var.large_event_bucket_name != null ? var.large_event_bucket_name : join("-", [
    trim(substr(replace(lower(local.name), "/[^a-z0-9-]/", "-"), 0, 16), "-"),
    substr(sha1(local.name), 0, 6), "large", local.account_id, local.region,
  ])
  large_event_bucket = (
    var.create_large_event_bucket ? local.large_event_bucket_name : var.large_event_bucket
  )
  large_event_bucket_arn = "arn:${local.partition}:s3:::${coalesce(local.large_event_bucket, "-")}"
  # The handler's keys are <prefix><table>/<eventID>-<digest>.json, with every character of
  # the table name outside [A-Za-z0-9._-] replaced by "_" (lambda_src/fanout/claim_check.py,
  # object_key). This function's objects only: instances that share a bucket and a prefix
  # cannot write or read each other's tables.
  large_event_table_key   = replace(local.table_name, "/[^A-Za-z0-9._-]/", "_")
  large_event_objects_arn = "${local.large_event_bucket_arn}/${var.large_event_prefix}${local.large_event_table_key}/*"

  # The account that owns the bucket: the created bucket is this account's; a bucket given
  # by name is this account's unless large_event_bucket_owner says otherwise. IAM's
  # s3:ResourceAccount and the handler's ExpectedBucketOwner both check it, so a bucket of
  # that name in another account (one re-created after a deletion) is never written to.
  large_event_bucket_owner = var.create_large_event_bucket ? local.account_id : coalesce(var.large_event_bucket_owner, local.account_id)
  large_event_owner_condition = {
    StringEquals = { "s3:ResourceAccount" = local.large_event_bucket_owner }
  }

  claim_check_environment = local.claim_check_enabled ? {
    LARGE_EVENT_BUCKET       = local.large_event_bucket
    LARGE_EVENT_PREFIX       = var.large_event_prefix
    LARGE_EVENT_BUCKET_OWNER = local.large_event_bucket_owner
  } : {}
  max_event_size_environment = var.max_event_size == null ? {} : {
    MAX_EVENT_SIZE = tostring(min(var.max_event_size, var.max_event_bytes))
  }

  # Through S3 only, for this bucket only: S3 binds the data key to the bucket's ARN
  # (with an S3 Bucket Key) or the object's ARN (without one).
  large_event_kms_condition = {
    StringEquals = { "kms:ViaService" = local.via.s3 }
    StringLike   = { "kms:EncryptionContext:aws:s3:arn" = [local.large_event_bucket_arn, local.large_event_objects_arn] }
  }

  claim_check_statements = concat(
    [{
      Sid       = "StoreLargeEvents"
      Effect    = "Allow"
      Action    = ["s3:PutObject"]
      Resource  = [local.large_event_objects_arn]
      Condition = local.large_event_owner_condition
    }],
    var.large_event_kms_key_arn == null ? [] : [{
      Sid       = "EncryptLargeEvents"
      Effect    = "Allow"
      Action    = ["kms:GenerateDataKey"]
      Resource  = [var.large_event_kms_key_arn]
      Condition = local.large_event_kms_condition
    }],
  )

  large_event_writer_policy_json = jsonencode({
    Version   = "2012-10-17"
    Statement = local.claim_check_statements
  })

  large_event_reader_policy_json = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [{
        Sid       = "ReadLargeEvents"
        Effect    = "Allow"
        Action    = ["s3:GetObject"]
        Resource  = [local.large_event_objects_arn]
        Condition = local.large_event_owner_condition
      }],
      var.large_event_kms_key_arn == null ? [] : [{
        Sid       = "DecryptLargeEvents"
        Effect    = "Allow"
        Action    = ["kms:Decrypt"]
        Resource  = [var.large_event_kms_key_arn]
        Condition = local.large_event_kms_condition
      }],
    )
  })
}

resource "aws_s3_bucket" "large_events" {
  #checkov:skip=CKV_AWS_18:Access logging needs a log bucket the user owns; objects are written only by the function's role.
  #checkov:skip=CKV_AWS_21:Versioning would keep every overwritten copy of an event; a retry rewrites the same key on purpose.
  #checkov:skip=CKV_AWS_144:Cross-region replication of short-lived claim-checked events is the user's choice, not a module default.
  #checkov:skip=CKV2_AWS_62:Consumers are told of new objects by the pointer event on the bus, not by S3 notifications.
  #checkov:skip=CKV_AWS_145:SSE-KMS with a customer key is an input (large_event_kms_key_arn); SSE-S3 otherwise.
  #checkov:skip=CKV2_AWS_6:The public access block is aws_s3_bucket_public_access_block.large_events below (checkov does not link counted resources in a module call).
  #checkov:skip=CKV2_AWS_61:The lifecycle is aws_s3_bucket_lifecycle_configuration.large_events below (checkov does not link counted resources in a module call).
  count = local.create_large_event_bucket ? 1 : 0

  bucket        = local.large_event_bucket_name
  force_destroy = var.large_event_bucket_force_destroy
  tags          = var.tags

  lifecycle {
    precondition {
      condition     = var.large_event_bucket == null
      error_message = "Set either large_event_bucket (an existing bucket) or create_large_event_bucket = true, not both."
    }
    precondition {
      condition     = var.large_event_bucket_owner == null
      error_message = "large_event_bucket_owner is for a bucket given as large_event_bucket; the bucket create_large_event_bucket creates belongs to this account."
    }
    precondition {
      condition     = terraform_data.large_event_bucket_name[0].output == local.large_event_bucket_name
      error_message = "The claim-check bucket would be renamed from ${coalesce(terraform_data.large_event_bucket_name[0].output, "-")} to ${local.large_event_bucket_name} (its name follows the module's name), which replaces it and its stored events. To keep it, set large_event_bucket_name = \"${coalesce(terraform_data.large_event_bucket_name[0].output, "-")}\". To move to a new bucket on purpose, run apply with -replace on this module's terraform_data.large_event_bucket_name[0] (the old bucket is deleted only when empty or with large_event_bucket_force_destroy = true)."
    }
  }
}

# The bucket's name when it was created. A later plan compares the name it computes with
# this one, so that a rename of `name` fails the plan instead of replacing the bucket.
resource "terraform_data" "large_event_bucket_name" {
  count = local.create_large_event_bucket ? 1 : 0

  input = local.large_event_bucket_name

  lifecycle {
    ignore_changes = [input]
  }
}

# Claim-checked events are whole table items: refuse every request that is not TLS.
resource "aws_s3_bucket_policy" "large_events" {
  count = local.create_large_event_bucket && var.large_event_bucket_tls_only ? 1 : 0

  bucket = aws_s3_bucket.large_events[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyRequestsWithoutTLS"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [local.large_event_bucket_arn, "${local.large_event_bucket_arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })

  # A bucket policy written while the public access block is being set can be refused.
  depends_on = [aws_s3_bucket_public_access_block.large_events]
}

resource "aws_s3_bucket_public_access_block" "large_events" {
  count = local.create_large_event_bucket ? 1 : 0

  bucket                  = aws_s3_bucket.large_events[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "large_events" {
  count = local.create_large_event_bucket ? 1 : 0

  bucket = aws_s3_bucket.large_events[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.large_event_kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.large_event_kms_key_arn
    }
    bucket_key_enabled = var.large_event_kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "large_events" {
  count = local.create_large_event_bucket ? 1 : 0

  bucket = aws_s3_bucket.large_events[0].id
  rule {
    id     = "expire-large-events"
    status = "Enabled"
    filter {
      prefix = var.large_event_prefix
    }
    expiration {
      days = var.large_event_expiration_days
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

# Its own policy on the module's role, so the main policy stays as it is when claim-check
# is off. With create_role = false, attach the large_event_writer_policy_json output to your role.
resource "aws_iam_role_policy" "claim_check" {
  count = local.claim_check_enabled && var.create_role ? 1 : 0

  name   = "fanout-large-events"
  role   = aws_iam_role.this[0].id
  policy = local.large_event_writer_policy_json
}
