# Alarms: anything parked (DLQ, on-failure queue), function errors, batch metadata Lambda
# could not deliver, the stream falling behind or no longer being read, and sustained
# throttling by the account's PutEvents quota.

locals {
  alarm_common = {
    alarm_actions = var.alarm_actions
    ok_actions    = var.ok_actions
  }
}

resource "aws_cloudwatch_metric_alarm" "dlq_messages" {
  count = var.create_alarms ? 1 : 0

  alarm_name          = "${local.name}-dlq-messages"
  alarm_description   = "Events of ${local.table_name} could not be published and wait in ${local.dlq_name} for investigation and redrive."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = local.dlq_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_common.alarm_actions
  ok_actions          = local.alarm_common.ok_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "on_failure_messages" {
  count = var.create_alarms && local.create_on_failure_queue ? 1 : 0

  alarm_name          = "${local.name}-on-failure-messages"
  alarm_description   = "Lambda gave up on stream batches of ${local.table_name}; their metadata is in ${local.on_failure_name}. Replay them from the stream before it trims them (24 h)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = local.on_failure_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_common.alarm_actions
  ok_actions          = local.alarm_common.ok_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  count = var.create_alarms ? 1 : 0

  alarm_name          = "${local.name}-errors"
  alarm_description   = "The fan-out function ${local.name} failed invocations; Lambda retries the batch."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = local.name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = var.alarm_evaluation_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_common.alarm_actions
  ok_actions          = local.alarm_common.ok_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "iterator_age" {
  count = var.create_alarms && var.create_event_source_mapping ? 1 : 0

  alarm_name          = "${local.name}-iterator-age"
  alarm_description   = "The fan-out function ${local.name} is more than ${var.iterator_age_alarm_threshold_seconds} s behind the stream of ${local.table_name}."
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = local.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = var.alarm_evaluation_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.iterator_age_alarm_threshold_seconds * 1000 # IteratorAge is in milliseconds.
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_common.alarm_actions
  ok_actions          = local.alarm_common.ok_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "destination_delivery_failures" {
  count = var.create_alarms && var.create_event_source_mapping ? 1 : 0

  alarm_name          = "${local.name}-destination-delivery-failures"
  alarm_description   = "Lambda could not send the metadata of a failed batch of ${local.table_name} to its on-failure destination: that batch is lost unless replayed from the stream (24 h). Check the destination's policy and key."
  namespace           = "AWS/Lambda"
  metric_name         = "DestinationDeliveryFailures"
  dimensions          = { FunctionName = local.name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_common.alarm_actions
  ok_actions          = local.alarm_common.ok_actions
  tags                = var.tags
}

# IteratorAge is only emitted while the mapping invokes the function: a disabled or broken
# mapping looks like a quiet table. This alarm fires when no batch was read for a while.
resource "aws_cloudwatch_metric_alarm" "iterator_age_missing" {
  count = var.create_alarms && var.create_event_source_mapping && var.stream_silence_alarm_minutes != null ? 1 : 0

  alarm_name          = "${local.name}-stream-not-read"
  alarm_description   = "No batch of ${local.table_name}'s stream reached ${local.name} for ${coalesce(var.stream_silence_alarm_minutes, 0)} minutes: the mapping may be disabled or failing, or the table was quiet."
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = local.name }
  statistic           = "SampleCount"
  period              = coalesce(var.stream_silence_alarm_minutes, 60) * 60
  evaluation_periods  = 1
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_common.alarm_actions
  ok_actions          = local.alarm_common.ok_actions
  tags                = var.tags
}

# The handler's own metric (EMF, namespace DynamoDBStreamFanout): entries PutEvents throttled.
# Throttled records are retried and reported back to the stream, never parked, so a quota
# that is too low shows only as a growing iterator age; this alarm names the cause.
resource "aws_cloudwatch_metric_alarm" "throttling" {
  count = var.create_alarms && var.throttling_alarm_minutes != null ? 1 : 0

  alarm_name          = "${local.name}-throttled"
  alarm_description   = "PutEvents throttled ${local.name} in each of ${coalesce(var.throttling_alarm_minutes, 0)} minutes: the account's PutEvents quota is too low for the stream of ${local.table_name}. Records wait in the stream (iterator age grows); raise the quota, filter records, or use a batch window."
  namespace           = "DynamoDBStreamFanout"
  metric_name         = "Throttled"
  dimensions          = { FunctionName = local.name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = coalesce(var.throttling_alarm_minutes, 1)
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_common.alarm_actions
  ok_actions          = local.alarm_common.ok_actions
  tags                = var.tags
}
