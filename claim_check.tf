# Claim-check for events too large for the bus (or for the targets behind it): the
# function stores the whole event in S3 and publishes a pointer event instead of
# dead-lettering it. The bucket is the user's (large_event_bucket) or created here.
# Counts depend only on the bucket name input being set and on bools, all known at plan;
# the created bucket's name is built from plan-time values too, so the first plan shows
# the whole policy.

locals {
  create_large_event_bucket = var.create_large_event_bucket
  claim_check_enabled       = var.create_large_event_bucket || var.large_event_bucket != null

  large_event_bucket_name = var.large_event_bucket_name != null ? var.large_event_bucket_name : local.bucket_names.large
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

# The created bucket (modules/private_bucket): public access blocked, SSE, events expiring
# under the prefix, kept on destroy unless large_event_bucket_force_destroy, a policy that
# refuses requests without TLS (large_event_bucket_tls_only), a name that may not follow a
# rename of `name`. Its addresses before the module existed: moved.tf.
module "large_event_bucket" {
  source = "./modules/private_bucket"
  count  = local.create_large_event_bucket ? 1 : 0

  name          = local.large_event_bucket_name
  force_destroy = var.large_event_bucket_force_destroy
  kms_key_arn   = var.large_event_kms_key_arn
  tls_only      = var.large_event_bucket_tls_only
  tags          = var.tags
  expiration    = { rule_id = "expire-large-events", prefix = var.large_event_prefix, days = var.large_event_expiration_days }
  rename_refusal = {
    bucket             = "claim-check bucket"
    losing             = "its stored events"
    keep_name_with     = "large_event_bucket_name"
    force_destroy_with = "large_event_bucket_force_destroy"
    module_address     = "module.large_event_bucket[0]"
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
