# An S3 bucket as the on-failure destination (on_failure_bucket.create): Lambda writes
# every batch it gives up on there whole, the invocation record with the batch's records,
# under aws/lambda/<mapping UUID>/<shard id>/YYYY/MM/DD/<time>-<random UUID>. The records
# then outlive the stream's 24 hours; the SQS destination gets the batch's coordinates only.
# The bucket is the module's one kind of private bucket (modules/private_bucket), as the
# claim-check bucket is (claim_check.tf), with a name from plan-time values that follows `name`.

locals {
  create_on_failure_bucket = var.create_event_source_mapping && var.on_failure_bucket.create

  on_failure_bucket_name = var.on_failure_bucket.name != null ? var.on_failure_bucket.name : local.bucket_names.failed
  on_failure_bucket_arn  = "arn:${local.partition}:s3:::${local.on_failure_bucket_name}"

  # The account whose bucket may receive failed batches: this one for the module's bucket,
  # on_failure_destination_bucket_owner (default this one) for a bucket given by ARN.
  on_failure_bucket_owner = (
    local.create_on_failure_bucket ? local.account_id : coalesce(var.on_failure_destination_bucket_owner, local.account_id)
  )
}

# Public access blocked, SSE, every failed batch expiring after expiration_days, kept on
# destroy unless force_destroy, a name that may not follow a rename of `name`. Failed
# batches are whole table items and are read back by a replay, so, as for the queues
# (queues.tf), its policy lets only the function's role write objects (Lambda writes them
# with the execution role; matched by aws:PrincipalArn, which a re-created role still
# matches) and serves no request without TLS. Reading, listing and deleting stay with IAM.
module "on_failure_bucket" {
  source = "./modules/private_bucket"
  count  = local.create_on_failure_bucket ? 1 : 0

  name                  = local.on_failure_bucket_name
  force_destroy         = var.on_failure_bucket.force_destroy
  kms_key_arn           = var.on_failure_bucket.kms_key_arn
  exclusive_writer_arns = [local.function_role_arn_for_policy]
  tags                  = var.tags
  expiration            = { rule_id = "expire-failed-batches", days = var.on_failure_bucket.expiration_days }
  rename_refusal = {
    bucket             = "on-failure bucket"
    losing             = "the failed batches it keeps"
    keep_name_with     = "on_failure_bucket.name"
    force_destroy_with = "on_failure_bucket.force_destroy"
    module_address     = "module.on_failure_bucket[0]"
  }
}
