# SQS queues: the dead-letter queue the handler writes entries it could not publish to,
# and (unless create_on_failure_queue = false) the on-failure destination where Lambda
# sends the metadata of batches it gave up on.

locals {
  # A bool, not "is on_failure_destination_arn null?": an ARN created in the same root is
  # unknown at plan, and a count must not depend on it.
  create_on_failure_queue = var.create_event_source_mapping && var.create_on_failure_queue

  dlq_name        = "${local.name}-dlq"
  on_failure_name = "${local.name}-on-failure"
  # Built from plan-time values so the role policy is complete in the first plan.
  dlq_arn              = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.dlq_name}"
  on_failure_queue_arn = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.on_failure_name}"

  on_failure_destination_arn = (
    !var.create_event_source_mapping ? null :
    local.create_on_failure_queue ? aws_sqs_queue.on_failure[0].arn : var.on_failure_destination_arn
  )
  on_failure_destination_for_policy = local.create_on_failure_queue ? local.on_failure_queue_arn : var.on_failure_destination_arn
  # The statement granting the destination depends on its service: sqs, sns or s3.
  on_failure_service = (
    local.create_on_failure_queue ? "sqs" :
    var.on_failure_destination_arn == null ? "none" : split(":", var.on_failure_destination_arn)[2]
  )
}

resource "aws_sqs_queue" "dlq" {
  name                              = local.dlq_name
  message_retention_seconds         = var.dlq.message_retention_seconds
  max_message_size                  = var.dlq.max_message_size
  sqs_managed_sse_enabled           = var.dlq.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.dlq.kms_key_arn
  kms_data_key_reuse_period_seconds = var.dlq.kms_key_arn == null ? null : var.dlq.kms_data_key_reuse_period_seconds
  tags                              = var.tags
}

resource "aws_sqs_queue" "on_failure" {
  count = local.create_on_failure_queue ? 1 : 0

  name                              = local.on_failure_name
  message_retention_seconds         = var.dlq.message_retention_seconds
  sqs_managed_sse_enabled           = var.dlq.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.dlq.kms_key_arn
  kms_data_key_reuse_period_seconds = var.dlq.kms_key_arn == null ? null : var.dlq.kms_data_key_reuse_period_seconds
  tags                              = var.tags

  lifecycle {
    precondition {
      condition     = var.on_failure_destination_arn == null
      error_message = "on_failure_destination_arn is set while create_on_failure_queue = true: set create_on_failure_queue = false to send failed batches to your own queue, topic or bucket."
    }
  }
}
