# The module with only the required input: names, environment, failure settings, alarms.

mock_provider "aws" {
  source = "./tests/mocks"
}

override_resource {
  target = aws_sqs_queue.dlq
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:orders-fanout-dlq"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-fanout-dlq"
  }
}

override_resource {
  target = aws_sqs_queue.on_failure
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:orders-fanout-on-failure"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-fanout-on-failure"
  }
}

variables {
  dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2024-05-01T00:00:00.000"
}

run "names_derive_from_the_table" {
  assert {
    condition     = aws_lambda_function.this.function_name == "orders-fanout"
    error_message = "The function name must default to <table>-fanout, got ${aws_lambda_function.this.function_name}."
  }
  assert {
    condition     = aws_iam_role.this[0].name == "orders-fanout-eu-west-1" && output.role_name == "orders-fanout-eu-west-1" && aws_iam_role.this[0].path == null && aws_iam_role.this[0].permissions_boundary == null
    error_message = "The role must be named <function>-<region> (unique per region), default path, no boundary."
  }
  assert {
    condition     = aws_sqs_queue.dlq.name == "orders-fanout-dlq" && aws_sqs_queue.on_failure[0].name == "orders-fanout-on-failure"
    error_message = "Queue names must derive from the function name."
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/lambda/orders-fanout" && output.log_group_name == "/aws/lambda/orders-fanout"
    error_message = "The log group must be /aws/lambda/<function name>."
  }
  assert {
    condition     = aws_cloudwatch_event_bus.this[0].name == "orders-fanout-bus" && output.event_bus_name == "orders-fanout-bus"
    error_message = "By default the module creates a bus named after itself: <name>-bus."
  }
  assert {
    condition     = output.event_bus_arn == aws_cloudwatch_event_bus.this[0].arn
    error_message = "event_bus_arn must be the created bus's ARN."
  }
}

run "function_defaults" {
  assert {
    condition     = aws_lambda_function.this.handler == "fanout.handler.lambda_handler"
    error_message = "Handler must be fanout.handler.lambda_handler."
  }
  assert {
    condition     = aws_lambda_function.this.runtime == "python3.13" && aws_lambda_function.this.architectures == tolist(["arm64"])
    error_message = "The function must default to python3.13 on arm64."
  }
  assert {
    condition     = aws_lambda_function.this.source_code_hash == filebase64sha256("${path.module}/dist/fanout.zip")
    error_message = "source_code_hash must be the hash of the zip, so code changes redeploy."
  }
  assert {
    condition     = aws_lambda_function.this.reserved_concurrent_executions == -1
    error_message = "Without reserved_concurrent_executions the function must be unreserved (-1)."
  }
  assert {
    condition     = aws_lambda_function.this.memory_size == 1769 && aws_lambda_function.this.timeout == 60
    error_message = "The function must default to 1769 MB (one vCPU, the CPU that publishes 2,000 records/s) and 60 s."
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 30 && aws_cloudwatch_log_group.this.kms_key_id == null
    error_message = "Log retention must default to 30 days without a KMS key."
  }
}

run "environment_is_wired" {
  assert {
    condition = toset(keys(aws_lambda_function.this.environment[0].variables)) == toset([
      "EVENT_BUS_NAME", "DLQ_URL", "EVENT_SOURCE", "MAX_ATTEMPTS", "DETAIL_FORMAT",
      "MAX_EVENT_BYTES", "DLQ_MAX_BYTES", "PUBLISH_CONCURRENCY", "LOG_LEVEL",
      "MAXIMUM_RECORD_AGE_IN_SECONDS", "MAXIMUM_RETRY_ATTEMPTS",
    ])
    error_message = "The environment must hold exactly the handler's variables, got ${join(", ", keys(aws_lambda_function.this.environment[0].variables))}."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables.EVENT_BUS_NAME == "orders-fanout-bus"
    error_message = "EVENT_BUS_NAME must be the bus name."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables.DLQ_URL == "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-fanout-dlq"
    error_message = "DLQ_URL must be the dead-letter queue's URL."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables.EVENT_SOURCE == "dynamodb.orders" && output.event_source == "dynamodb.orders"
    error_message = "EVENT_SOURCE must default to dynamodb.<table>."
  }
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables.MAX_ATTEMPTS == "3" &&
      aws_lambda_function.this.environment[0].variables.DETAIL_FORMAT == "plain" &&
      aws_lambda_function.this.environment[0].variables.MAX_EVENT_BYTES == "1048576" &&
      aws_lambda_function.this.environment[0].variables.PUBLISH_CONCURRENCY == "32" &&
      aws_lambda_function.this.environment[0].variables.LOG_LEVEL == "INFO"
    )
    error_message = "Handler settings must have their documented defaults."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables.DLQ_MAX_BYTES == tostring(aws_sqs_queue.dlq.max_message_size) && aws_sqs_queue.dlq.max_message_size == 262144
    error_message = "DLQ_MAX_BYTES must equal the DLQ's max_message_size (262144 by default)."
  }
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables.MAXIMUM_RECORD_AGE_IN_SECONDS == tostring(aws_lambda_event_source_mapping.this[0].maximum_record_age_in_seconds) &&
      aws_lambda_function.this.environment[0].variables.MAXIMUM_RETRY_ATTEMPTS == tostring(aws_lambda_event_source_mapping.this[0].maximum_retry_attempts) &&
      aws_lambda_function.this.environment[0].variables.MAXIMUM_RECORD_AGE_IN_SECONDS == "21600" &&
      aws_lambda_function.this.environment[0].variables.MAXIMUM_RETRY_ATTEMPTS == "-1"
    )
    error_message = "The handler's safety valve must get the mapping's maximum record age and retry attempts."
  }
}

run "environment_follows_inputs" {
  variables {
    name                = "custom"
    event_source        = "com.example.orders"
    max_attempts        = 7
    detail_format       = "both"
    max_event_bytes     = 262144
    publish_concurrency = 16
    log_level           = "DEBUG"
    dlq                 = { max_message_size = 65536 }

    maximum_record_age_in_seconds = -1
    maximum_retry_attempts        = 3
  }
  assert {
    condition = aws_lambda_function.this.environment[0].variables == tomap({
      EVENT_BUS_NAME      = "custom-bus"
      DLQ_URL             = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-fanout-dlq"
      EVENT_SOURCE        = "com.example.orders"
      MAX_ATTEMPTS        = "7"
      DETAIL_FORMAT       = "both"
      MAX_EVENT_BYTES     = "262144"
      DLQ_MAX_BYTES       = "65536"
      PUBLISH_CONCURRENCY = "16"
      LOG_LEVEL           = "DEBUG"

      MAXIMUM_RECORD_AGE_IN_SECONDS = "-1"
      MAXIMUM_RETRY_ATTEMPTS        = "3"
    })
    error_message = "The environment must follow the inputs."
  }
  assert {
    condition     = aws_lambda_function.this.function_name == "custom" && aws_sqs_queue.dlq.name == "custom-dlq"
    error_message = "The name input must name the function and its queues."
  }
}

run "dead_letter_queue_is_encrypted_and_kept_14_days" {
  assert {
    condition     = aws_sqs_queue.dlq.sqs_managed_sse_enabled == true && aws_sqs_queue.dlq.kms_master_key_id == null
    error_message = "The DLQ must use SQS-managed SSE by default."
  }
  assert {
    condition     = aws_sqs_queue.dlq.message_retention_seconds == 1209600
    error_message = "The DLQ must keep messages 14 days by default."
  }
  assert {
    condition     = output.dlq_url == aws_sqs_queue.dlq.url && output.dlq_arn == aws_sqs_queue.dlq.arn && output.dlq_name == "orders-fanout-dlq"
    error_message = "DLQ outputs must come from the queue."
  }
}

run "on_failure_queue_is_encrypted_and_kept_14_days" {
  assert {
    condition     = aws_sqs_queue.on_failure[0].sqs_managed_sse_enabled == true && aws_sqs_queue.on_failure[0].kms_master_key_id == null && aws_sqs_queue.on_failure[0].message_retention_seconds == 1209600
    error_message = "The on-failure queue must use SQS-managed SSE and keep messages 14 days."
  }
  assert {
    condition     = output.on_failure_queue_name == "orders-fanout-on-failure" && output.on_failure_queue_url == aws_sqs_queue.on_failure[0].url
    error_message = "On-failure queue outputs must come from the queue."
  }
}

run "dead_letter_queue_with_customer_key" {
  variables {
    dlq = { kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" }
  }
  assert {
    condition     = aws_sqs_queue.dlq.kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    error_message = "With dlq.kms_key_arn the DLQ must use that key instead of SQS-managed SSE."
  }
  assert {
    condition     = aws_sqs_queue.on_failure[0].kms_master_key_id == aws_sqs_queue.dlq.kms_master_key_id
    error_message = "The module's on-failure queue must use the DLQ's key."
  }
}

run "event_source_mapping_defaults" {
  assert {
    condition     = aws_lambda_event_source_mapping.this[0].function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "The mapping must use ReportBatchItemFailures."
  }
  assert {
    condition     = aws_lambda_event_source_mapping.this[0].event_source_arn == var.dynamodb_stream_arn && aws_lambda_event_source_mapping.this[0].function_name == aws_lambda_function.this.arn
    error_message = "The mapping must connect the stream to the function."
  }
  assert {
    condition = (
      aws_lambda_event_source_mapping.this[0].batch_size == 1000 &&
      aws_lambda_event_source_mapping.this[0].starting_position == "TRIM_HORIZON" &&
      aws_lambda_event_source_mapping.this[0].parallelization_factor == 1 &&
      aws_lambda_event_source_mapping.this[0].bisect_batch_on_function_error == true &&
      aws_lambda_event_source_mapping.this[0].enabled == true
    )
    error_message = "Mapping settings must have their documented defaults."
  }
  assert {
    condition     = aws_lambda_event_source_mapping.this[0].maximum_retry_attempts == -1 && aws_lambda_event_source_mapping.this[0].maximum_record_age_in_seconds == 21600
    error_message = "By default a failing batch is skipped by record age only (6 hours, which the handler enforces from each record's own timestamp), not by a retry count (-1)."
  }
  assert {
    condition     = aws_lambda_event_source_mapping.this[0].destination_config[0].on_failure[0].destination_arn == aws_sqs_queue.on_failure[0].arn
    error_message = "Failed batches must go to the module's on-failure queue by default."
  }
  assert {
    condition     = length(aws_lambda_event_source_mapping.this[0].filter_criteria) == 0
    error_message = "No filter criteria by default."
  }
  assert {
    condition     = output.event_source_mapping_uuid == "00000000-0000-0000-0000-000000000001" && output.on_failure_destination_arn == aws_sqs_queue.on_failure[0].arn
    error_message = "Mapping outputs must come from the mapping and its destination."
  }
}

run "alarms_on_by_default" {
  variables {
    alarm_actions = ["arn:aws:sns:eu-west-1:123456789012:oncall"]
  }
  assert {
    condition = {
      for a in [
        aws_cloudwatch_metric_alarm.dlq_messages[0], aws_cloudwatch_metric_alarm.on_failure_messages[0],
        aws_cloudwatch_metric_alarm.errors[0], aws_cloudwatch_metric_alarm.iterator_age[0],
        aws_cloudwatch_metric_alarm.destination_delivery_failures[0], aws_cloudwatch_metric_alarm.iterator_age_missing[0],
        aws_cloudwatch_metric_alarm.throttling[0],
      ] : a.alarm_name => [a.namespace, a.metric_name, a.statistic, a.comparison_operator, tostring(a.threshold), tostring(a.period), a.treat_missing_data]
      } == {
      "orders-fanout-dlq-messages"                  = ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", "GreaterThanThreshold", "0", "300", "notBreaching"]
      "orders-fanout-on-failure-messages"           = ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", "GreaterThanThreshold", "0", "300", "notBreaching"]
      "orders-fanout-errors"                        = ["AWS/Lambda", "Errors", "Sum", "GreaterThanThreshold", "0", "60", "notBreaching"]
      "orders-fanout-iterator-age"                  = ["AWS/Lambda", "IteratorAge", "Maximum", "GreaterThanThreshold", "300000", "60", "notBreaching"]
      "orders-fanout-destination-delivery-failures" = ["AWS/Lambda", "DestinationDeliveryFailures", "Sum", "GreaterThanThreshold", "0", "60", "notBreaching"]
      "orders-fanout-stream-not-read"               = ["AWS/Lambda", "IteratorAge", "SampleCount", "LessThanThreshold", "1", "3600", "breaching"]
      "orders-fanout-throttled"                     = ["DynamoDBStreamFanout", "Throttled", "Sum", "GreaterThanThreshold", "0", "60", "notBreaching"]
    }
    error_message = "Each alarm must watch its metric with its statistic, threshold, period and missing-data rule."
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.dlq_messages[0].dimensions == tomap({ QueueName = "orders-fanout-dlq" }) &&
      aws_cloudwatch_metric_alarm.on_failure_messages[0].dimensions == tomap({ QueueName = "orders-fanout-on-failure" }) &&
      alltrue([for a in [aws_cloudwatch_metric_alarm.errors[0], aws_cloudwatch_metric_alarm.iterator_age[0], aws_cloudwatch_metric_alarm.destination_delivery_failures[0], aws_cloudwatch_metric_alarm.iterator_age_missing[0]] : a.dimensions == tomap({ FunctionName = "orders-fanout" })])
    )
    error_message = "Alarms must watch the module's queues and function."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.throttling[0].evaluation_periods == 15 && aws_cloudwatch_metric_alarm.throttling[0].dimensions == tomap({ FunctionName = "orders-fanout" })
    error_message = "The throttling alarm must fire after 15 throttled minutes in a row of the module's function."
  }
  assert {
    condition     = alltrue([for a in [aws_cloudwatch_metric_alarm.dlq_messages[0], aws_cloudwatch_metric_alarm.errors[0], aws_cloudwatch_metric_alarm.destination_delivery_failures[0], aws_cloudwatch_metric_alarm.iterator_age_missing[0]] : a.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:oncall"])])
    error_message = "alarm_actions must be wired to the alarms."
  }
}

run "stream_silence_alarm_can_be_turned_off" {
  variables {
    stream_silence_alarm_minutes = null
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.iterator_age_missing) == 0 && length(aws_cloudwatch_metric_alarm.destination_delivery_failures) == 1
    error_message = "stream_silence_alarm_minutes = null must drop only the stream-not-read alarm."
  }
}

run "throttling_alarm_follows_its_input" {
  variables {
    throttling_alarm_minutes = 5
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.throttling[0].evaluation_periods == 5 && aws_cloudwatch_metric_alarm.throttling[0].metric_name == "Throttled"
    error_message = "throttling_alarm_minutes must set how many throttled minutes in a row fire the alarm."
  }
}

run "throttling_alarm_can_be_turned_off" {
  variables {
    throttling_alarm_minutes = null
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.throttling) == 0 && length(aws_cloudwatch_metric_alarm.iterator_age) == 1
    error_message = "throttling_alarm_minutes = null must drop only the throttling alarm."
  }
}

run "alarms_can_be_turned_off" {
  variables {
    create_alarms = false
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.dlq_messages) + length(aws_cloudwatch_metric_alarm.errors) + length(aws_cloudwatch_metric_alarm.iterator_age) + length(aws_cloudwatch_metric_alarm.on_failure_messages) + length(aws_cloudwatch_metric_alarm.destination_delivery_failures) + length(aws_cloudwatch_metric_alarm.iterator_age_missing) + length(aws_cloudwatch_metric_alarm.throttling) == 0
    error_message = "create_alarms = false must create no alarm."
  }
}

run "tags_everywhere" {
  variables {
    tags = { team = "orders" }
    rules = {
      paid = { event_pattern = "{\"detail-type\":[\"MODIFY\"]}" }
    }
    archive = {}
  }
  assert {
    condition = concat([
      aws_lambda_function.this.tags,
      aws_iam_role.this[0].tags,
      aws_sqs_queue.dlq.tags,
      aws_sqs_queue.on_failure[0].tags,
      aws_cloudwatch_log_group.this.tags,
      aws_cloudwatch_event_bus.this[0].tags,
      aws_lambda_event_source_mapping.this[0].tags,
      aws_cloudwatch_event_rule.this["paid"].tags,
      ], [for a in concat(
        aws_cloudwatch_metric_alarm.dlq_messages, aws_cloudwatch_metric_alarm.on_failure_messages,
        aws_cloudwatch_metric_alarm.errors, aws_cloudwatch_metric_alarm.iterator_age,
        aws_cloudwatch_metric_alarm.destination_delivery_failures, aws_cloudwatch_metric_alarm.iterator_age_missing,
    ) : a.tags]) == [for i in range(14) : tomap({ team = "orders" })]
    error_message = "tags must reach every taggable resource: function, role, queues, log group, bus, mapping, rules, every alarm."
  }
}

run "long_table_names_give_valid_function_names" {
  variables {
    dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/my.very.long.table.name.that.goes.on.and.on.and.on.forever/stream/2024-05-01T00:00:00.000"
  }
  assert {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,64}$", aws_lambda_function.this.function_name)) && endswith(aws_lambda_function.this.function_name, "-fanout")
    error_message = "A derived name must be a valid Lambda name, got ${aws_lambda_function.this.function_name}."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables.EVENT_SOURCE == "dynamodb.my.very.long.table.name.that.goes.on.and.on.and.on.forever"
    error_message = "EVENT_SOURCE keeps the table name as it is."
  }
}

run "long_table_names_that_share_a_prefix_get_different_names" {
  variables {
    dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders-archive-of-the-european-subsidiary-production/stream/2024-05-01T00:00:00.000"
    table_name          = "orders-archive-of-the-european-subsidiary-production"
  }
  assert {
    condition = (
      aws_lambda_function.this.function_name == "orders-archive-of-the-european-sub-${substr(sha1("orders-archive-of-the-european-subsidiary-production"), 0, 8)}-fanout" &&
      aws_lambda_function.this.function_name != "orders-archive-of-the-european-sub-${substr(sha1("orders-archive-of-the-european-subsidiary-production-2"), 0, 8)}-fanout" &&
      length(aws_lambda_function.this.function_name) == 50
    )
    error_message = "A shortened name must end in a hash of the whole table name, got ${aws_lambda_function.this.function_name}."
  }
}

run "table_name_names_the_function_and_the_source" {
  variables {
    dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders-v2/stream/2024-05-01T00:00:00.000"
    table_name          = "orders-v2"
  }
  assert {
    condition     = aws_lambda_function.this.function_name == "orders-v2-fanout" && aws_lambda_function.this.environment[0].variables.EVENT_SOURCE == "dynamodb.orders-v2"
    error_message = "table_name must name the function and the event source."
  }
}

run "name_wins_over_table_name" {
  variables {
    dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders-v2/stream/2024-05-01T00:00:00.000"
    table_name          = "orders-v2"
    name                = "billing-feed"
  }
  assert {
    condition     = aws_lambda_function.this.function_name == "billing-feed" && aws_cloudwatch_event_bus.this[0].name == "billing-feed-bus" && aws_sqs_queue.dlq.name == "billing-feed-dlq"
    error_message = "name must name everything, the bus included."
  }
}

run "publish_concurrency_follows_the_batch_size" {
  variables {
    batch_size = 1000
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables.PUBLISH_CONCURRENCY == "32"
    error_message = "Large batches must cap publish concurrency at 32."
  }
}

run "publish_concurrency_for_small_batches" {
  variables {
    batch_size = 15
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables.PUBLISH_CONCURRENCY == "2"
    error_message = "PUBLISH_CONCURRENCY must be ceil(batch_size / 10)."
  }
}
