# A private S3 bucket, as the fan-out module creates its buckets (the claim-check bucket,
# claim_check.tf, and the on-failure bucket, on_failure_bucket.tf): public access blocked,
# encrypted (SSE-S3, or SSE-KMS with a customer key), objects that expire, kept on
# destroy unless force_destroy, a policy that refuses requests without TLS and, when asked,
# writes by anyone but the given roles, and a name that a plan may not change.

data "aws_partition" "current" {}

locals {
  # From plan-time values, so the first plan shows the whole policy.
  arn = "arn:${data.aws_partition.current.partition}:s3:::${var.name}"

  policy_statements = concat(
    length(var.exclusive_writer_arns) == 0 ? [] : [{
      Sid       = "DenyWritingByOthers"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:PutObject"
      Resource  = "${local.arn}/*"
      Condition = { ArnNotEquals = { "aws:PrincipalArn" = var.exclusive_writer_arns } }
    }],
    var.tls_only ? [{
      Sid       = "DenyRequestsWithoutTLS"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [local.arn, "${local.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }] : [],
  )

  # The name the bucket was created with, as the rename refusal quotes it.
  created_name = coalesce(terraform_data.name.output, "-")
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Access logging needs a log bucket the user owns; objects are written only by the function's role (IAM, and for failed batches the bucket policy).
  #checkov:skip=CKV_AWS_21:Versioning would keep copies of objects past their expiration: a retry rewrites a claim-checked event under the same key, a failed batch is written once under a new key.
  #checkov:skip=CKV_AWS_144:Cross-region replication of short-lived objects (claim-checked events, failed batches kept for a replay) is the user's choice, not a module default.
  #checkov:skip=CKV2_AWS_62:Claim-checked events are announced by the pointer event on the bus, failed batches by the function's alarms, not by S3 notifications.
  #checkov:skip=CKV_AWS_145:SSE-KMS with a customer key is an input (kms_key_arn); SSE-S3 otherwise.
  #checkov:skip=CKV2_AWS_6:The public access block is aws_s3_bucket_public_access_block.this below (checkov does not link counted resources in a module call).
  #checkov:skip=CKV2_AWS_61:The lifecycle is aws_s3_bucket_lifecycle_configuration.this below (checkov does not link counted resources in a module call).
  bucket        = var.name
  force_destroy = var.force_destroy
  tags          = var.tags

  lifecycle {
    precondition {
      condition     = terraform_data.name.output == var.name
      error_message = "The ${var.rename_refusal.bucket} would be renamed from ${local.created_name} to ${var.name} (its name follows the module's name), which replaces it and ${var.rename_refusal.losing}. To keep it, set ${var.rename_refusal.keep_name_with} = \"${local.created_name}\". To move to a new bucket on purpose, run apply with -replace on this module's ${var.rename_refusal.module_address}.terraform_data.name (the old bucket is deleted only when empty or with ${var.rename_refusal.force_destroy_with} = true)."
    }
  }
}

# The bucket's name when it was created. A later plan compares the name it is given with
# this one, so that a rename fails the plan instead of replacing the bucket.
resource "terraform_data" "name" {
  input = var.name

  lifecycle {
    ignore_changes = [input]
  }
}

resource "aws_s3_bucket_policy" "this" {
  #checkov:skip=CKV_AWS_70:Every statement is a Deny (requests without TLS, writes by other principals); checkov cannot read a statement list built from conditions and fails on it, so the tests assert both buckets' exact policies.
  count = length(local.policy_statements) > 0 ? 1 : 0

  bucket = aws_s3_bucket.this.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = local.policy_statements
  })

  # A bucket policy written while the public access block is being set can be refused.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  #checkov:skip=CKV_AWS_300:The last rule aborts incomplete uploads of every object after a day; checkov drops a static rule that follows a dynamic one (tests/claim_check.tftest.hcl and tests/on_failure_bucket.tftest.hcl assert it).
  bucket = aws_s3_bucket.this.id

  # Objects under a prefix expire in a rule of their own.
  dynamic "rule" {
    for_each = var.expiration.prefix == null ? [] : [var.expiration]
    content {
      id     = rule.value.rule_id
      status = "Enabled"
      filter {
        prefix = rule.value.prefix
      }
      expiration {
        days = rule.value.days
      }
    }
  }

  # Every object: incomplete uploads are aborted after a day, and, without a prefix, the
  # objects expire in this rule.
  rule {
    id     = var.expiration.prefix == null ? var.expiration.rule_id : "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    dynamic "expiration" {
      for_each = var.expiration.prefix == null ? [var.expiration.days] : []
      content {
        days = expiration.value
      }
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}
