# SQS queues: the dead-letter queue the handler writes entries it could not publish to,
# and (unless one is given) the on-failure destination where Lambda sends the metadata of
# batches it gave up on.

locals {
  create_on_failure_queue    = var.create_event_source_mapping && var.on_failure_destination_arn == null
  on_failure_destination_arn = local.create_on_failure_queue ? aws_sqs_queue.on_failure[0].arn : var.on_failure_destination_arn
  on_failure_is_sqs          = local.create_on_failure_queue || can(regex("^arn:[^:]+:sqs:", coalesce(var.on_failure_destination_arn, "none")))
}

resource "aws_sqs_queue" "dlq" {
  name                              = "${local.name}-dlq"
  message_retention_seconds         = var.dlq.message_retention_seconds
  max_message_size                  = var.dlq.max_message_size
  sqs_managed_sse_enabled           = var.dlq.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.dlq.kms_key_arn
  kms_data_key_reuse_period_seconds = var.dlq.kms_key_arn == null ? null : var.dlq.kms_data_key_reuse_period_seconds
  tags                              = var.tags
}

resource "aws_sqs_queue" "on_failure" {
  count = local.create_on_failure_queue ? 1 : 0

  name                              = "${local.name}-on-failure"
  message_retention_seconds         = var.dlq.message_retention_seconds
  sqs_managed_sse_enabled           = var.dlq.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.dlq.kms_key_arn
  kms_data_key_reuse_period_seconds = var.dlq.kms_key_arn == null ? null : var.dlq.kms_data_key_reuse_period_seconds
  tags                              = var.tags
}
