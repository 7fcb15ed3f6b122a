# Alarms: anything parked (DLQ, on-failure queue), function errors, and the stream falling behind.

locals {
  alarm_common = {
    alarm_actions = var.alarm_actions
    ok_actions    = var.ok_actions
  }
}

resource "aws_cloudwatch_metric_alarm" "dlq_messages" {
  count = var.create_alarms ? 1 : 0

  alarm_name          = "${local.name}-dlq-messages"
  alarm_description   = "Events of ${local.table_name} could not be published and wait in ${aws_sqs_queue.dlq.name} for investigation and redrive."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
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
  alarm_description   = "Lambda gave up on stream batches of ${local.table_name}; their metadata is in ${aws_sqs_queue.on_failure[0].name}. Replay them from the stream before it trims them (24 h)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.on_failure[0].name }
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
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
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
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
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
