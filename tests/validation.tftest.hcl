# Out-of-range and malformed inputs fail at plan time with a message saying what is allowed.
# Generated cases are listed one per run so a regression names the input that slipped through.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2024-05-01T00:00:00.000"
}

run "valid_edge_values_are_accepted" {
  variables {
    name                               = "a123456789a123456789a123456789a123456789a123456789"
    max_attempts                       = 10
    max_event_bytes                    = 1048576
    publish_concurrency                = 64
    batch_size                         = 10000
    maximum_batching_window_in_seconds = 300
    parallelization_factor             = 10
    maximum_retry_attempts             = -1
    maximum_record_age_in_seconds      = 604800
    filter_criteria_patterns           = [for i in range(5) : jsonencode({ eventName = ["INSERT"] })]
    dlq                                = { message_retention_seconds = 60, max_message_size = 1024 }
    rules = {
      r = {
        event_pattern = "{\"detail-type\":[\"INSERT\"]}"
        targets = { for i in range(5) : "t${i}" => {
          arn          = "arn:aws:sqs:eu-west-1:123456789012:q${i}"
          retry_policy = { maximum_event_age_in_seconds = 86400, maximum_retry_attempts = 185 }
        } }
      }
    }
  }
  assert {
    condition     = aws_lambda_function.this.function_name == var.name
    error_message = "Edge values must be accepted."
  }
}

run "stream_arn_in_another_partition_is_accepted" {
  variables {
    dynamodb_stream_arn = "arn:aws-cn:dynamodb:cn-north-1:123456789012:table/orders/stream/2024-05-01T00:00:00.000"
  }
  override_data {
    target = data.aws_partition.current
    values = { partition = "aws-cn", dns_suffix = "amazonaws.com.cn" }
  }
  override_data {
    target = data.aws_region.current
    values = { name = "cn-north-1" }
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "ReadTheStream"]).Resource == ["arn:aws-cn:dynamodb:cn-north-1:123456789012:table/orders/stream/*"]
    error_message = "ARNs in the policy must carry the provider's partition."
  }
}

run "rejects_create_permission_without_type" {
  command = plan
  variables {
    rules = {
      r = { event_pattern = "{\"source\":[\"x\"]}", targets = { q = { arn = "arn:aws:sqs:eu-west-1:123456789012:q", create_permission = true } } }
    }
  }
  expect_failures = [var.rules]
}

run "rejects_role_arn_not_a_role" {
  command = plan
  variables {
    role_arn = "arn:aws:iam::123456789012:policy/fanout"
  }
  expect_failures = [var.role_arn]
}

run "rejects_permissions_boundary_not_a_policy" {
  command = plan
  variables {
    role_permissions_boundary = "arn:aws:iam::123456789012:role/boundary"
  }
  expect_failures = [var.role_permissions_boundary]
}

run "rejects_role_path_without_slashes" {
  command = plan
  variables {
    role_path = "service-roles"
  }
  expect_failures = [var.role_path]
}

run "rejects_table_name_too_short" {
  command = plan
  variables {
    table_name = "ab"
  }
  expect_failures = [var.table_name]
}

run "rejects_stream_silence_over_a_day" {
  command = plan
  variables {
    stream_silence_alarm_minutes = 1441
  }
  expect_failures = [var.stream_silence_alarm_minutes]
}

run "rejects_throttling_alarm_over_a_day" {
  command = plan
  variables {
    throttling_alarm_minutes = 1441
  }
  expect_failures = [var.throttling_alarm_minutes]
}

run "rejects_fractional_throttling_alarm_minutes" {
  command = plan
  variables {
    throttling_alarm_minutes = 2.5
  }
  expect_failures = [var.throttling_alarm_minutes]
}

run "rejects_own_role_without_its_arn" {
  command = plan
  variables {
    create_role = false
  }
  expect_failures = [aws_lambda_function.this]
}

run "rejects_stream_arn_of_a_table_not_a_stream" {
  command = plan
  variables {
    dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
  }
  expect_failures = [var.dynamodb_stream_arn]
}

run "rejects_stream_arn_of_another_service" {
  command = plan
  variables {
    dynamodb_stream_arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/orders"
  }
  expect_failures = [var.dynamodb_stream_arn]
}

run "rejects_stream_arn_with_short_account" {
  command = plan
  variables {
    dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:12345:table/orders/stream/2024-05-01T00:00:00.000"
  }
  expect_failures = [var.dynamodb_stream_arn]
}

run "rejects_name_with_dots" {
  command = plan
  variables {
    name = "orders.fanout"
  }
  expect_failures = [var.name]
}

run "rejects_name_too_long" {
  command = plan
  variables {
    name = "a123456789a123456789a123456789a123456789a123456789x"
  }
  expect_failures = [var.name]
}

run "rejects_bus_name_with_spaces" {
  command = plan
  variables {
    event_bus_name = "my bus"
  }
  expect_failures = [var.event_bus_name]
}

run "rejects_max_attempts_zero" {
  command = plan
  variables {
    max_attempts = 0
  }
  expect_failures = [var.max_attempts]
}

run "rejects_max_attempts_eleven" {
  command = plan
  variables {
    max_attempts = 11
  }
  expect_failures = [var.max_attempts]
}

run "rejects_event_source_reserved_prefix" {
  command = plan
  variables {
    event_source = "aws.dynamodb"
  }
  expect_failures = [var.event_source]
}

run "rejects_event_source_too_long" {
  command = plan
  variables {
    event_source = join("", [for i in range(257) : "x"])
  }
  expect_failures = [var.event_source]
}

run "rejects_detail_format_unknown" {
  command = plan
  variables {
    detail_format = "xml"
  }
  expect_failures = [var.detail_format]
}

run "rejects_max_event_bytes_over_1mib" {
  command = plan
  variables {
    max_event_bytes = 1048577
  }
  expect_failures = [var.max_event_bytes]
}

run "rejects_max_event_bytes_zero" {
  command = plan
  variables {
    max_event_bytes = 0
  }
  expect_failures = [var.max_event_bytes]
}

run "rejects_publish_concurrency_over_64" {
  command = plan
  variables {
    publish_concurrency = 65
  }
  expect_failures = [var.publish_concurrency]
}

run "rejects_publish_concurrency_zero" {
  command = plan
  variables {
    publish_concurrency = 0
  }
  expect_failures = [var.publish_concurrency]
}

run "rejects_runtime_too_old" {
  command = plan
  variables {
    runtime = "python3.9"
  }
  expect_failures = [var.runtime]
}

run "rejects_architecture_unknown" {
  command = plan
  variables {
    architecture = "arm32"
  }
  expect_failures = [var.architecture]
}

run "rejects_memory_too_small" {
  command = plan
  variables {
    memory_size = 64
  }
  expect_failures = [var.memory_size]
}

run "rejects_timeout_over_15_minutes" {
  command = plan
  variables {
    timeout = 901
  }
  expect_failures = [var.timeout]
}

run "rejects_reserved_concurrency_negative" {
  command = plan
  variables {
    reserved_concurrent_executions = -1
  }
  expect_failures = [var.reserved_concurrent_executions]
}

run "rejects_log_level_critical" {
  command = plan
  variables {
    log_level = "CRITICAL"
  }
  expect_failures = [var.log_level]
}

run "rejects_log_level_unknown" {
  command = plan
  variables {
    log_level = "TRACE"
  }
  expect_failures = [var.log_level]
}

run "rejects_tracing_mode_unknown" {
  command = plan
  variables {
    tracing_mode = "On"
  }
  expect_failures = [var.tracing_mode]
}

run "rejects_log_retention_not_allowed" {
  command = plan
  variables {
    log_retention_in_days = 31
  }
  expect_failures = [var.log_retention_in_days]
}

run "rejects_kms_alias_instead_of_key" {
  command = plan
  variables {
    log_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:alias/logs"
  }
  expect_failures = [var.log_kms_key_arn]
}

run "rejects_dlq_retention_over_14_days" {
  command = plan
  variables {
    dlq = { message_retention_seconds = 1209601 }
  }
  expect_failures = [var.dlq]
}

run "rejects_dlq_message_size_over_1mib" {
  command = plan
  variables {
    dlq = { max_message_size = 1048577 }
  }
  expect_failures = [var.dlq]
}

run "rejects_dlq_kms_alias" {
  command = plan
  variables {
    dlq = { kms_key_arn = "alias/aws/sqs" }
  }
  expect_failures = [var.dlq]
}

run "rejects_batch_size_over_10000" {
  command = plan
  variables {
    batch_size = 10001
  }
  expect_failures = [var.batch_size]
}

run "rejects_batch_size_zero" {
  command = plan
  variables {
    batch_size = 0
  }
  expect_failures = [var.batch_size]
}

run "rejects_batching_window_over_300" {
  command = plan
  variables {
    maximum_batching_window_in_seconds = 301
  }
  expect_failures = [var.maximum_batching_window_in_seconds]
}

run "rejects_starting_position_at_timestamp" {
  command = plan
  variables {
    starting_position = "AT_TIMESTAMP"
  }
  expect_failures = [var.starting_position]
}

run "rejects_parallelization_over_10" {
  command = plan
  variables {
    parallelization_factor = 11
  }
  expect_failures = [var.parallelization_factor]
}

run "rejects_parallelization_zero" {
  command = plan
  variables {
    parallelization_factor = 0
  }
  expect_failures = [var.parallelization_factor]
}

run "rejects_retry_attempts_below_minus_one" {
  command = plan
  variables {
    maximum_retry_attempts = -2
  }
  expect_failures = [var.maximum_retry_attempts]
}

run "rejects_retry_attempts_over_10000" {
  command = plan
  variables {
    maximum_retry_attempts = 10001
  }
  expect_failures = [var.maximum_retry_attempts]
}

run "rejects_record_age_below_60" {
  command = plan
  variables {
    maximum_record_age_in_seconds = 59
  }
  expect_failures = [var.maximum_record_age_in_seconds]
}

run "rejects_record_age_over_a_week" {
  command = plan
  variables {
    maximum_record_age_in_seconds = 604801
  }
  expect_failures = [var.maximum_record_age_in_seconds]
}

run "rejects_six_filter_patterns" {
  command = plan
  variables {
    filter_criteria_patterns = [for i in range(6) : jsonencode({ eventName = ["INSERT"] })]
  }
  expect_failures = [var.filter_criteria_patterns]
}

run "rejects_filter_pattern_not_json" {
  command = plan
  variables {
    filter_criteria_patterns = ["eventName = INSERT"]
  }
  expect_failures = [var.filter_criteria_patterns]
}

run "rejects_on_failure_destination_not_sqs_sns_or_s3" {
  command = plan
  variables {
    on_failure_destination_arn = "arn:aws:lambda:eu-west-1:123456789012:function:sink"
  }
  expect_failures = [var.on_failure_destination_arn]
}

run "rejects_iterator_age_threshold_zero" {
  command = plan
  variables {
    iterator_age_alarm_threshold_seconds = 0
  }
  expect_failures = [var.iterator_age_alarm_threshold_seconds]
}

run "rejects_archive_negative_retention" {
  command = plan
  variables {
    archive = { retention_days = -1 }
  }
  expect_failures = [var.archive]
}

run "rejects_rule_pattern_not_json" {
  command = plan
  variables {
    rules = { bad = { event_pattern = "{detail-type: [INSERT]}" } }
  }
  expect_failures = [var.rules]
}

run "rejects_rule_pattern_json_array" {
  command = plan
  variables {
    rules = { bad = { event_pattern = "[\"INSERT\"]" } }
  }
  expect_failures = [var.rules]
}

run "rejects_rule_key_with_spaces" {
  command = plan
  variables {
    rules = { "my rule" = { event_pattern = "{}" } }
  }
  expect_failures = [var.rules]
}

run "rejects_six_targets" {
  command = plan
  variables {
    rules = { r = { event_pattern = "{}", targets = { for i in range(6) : "t${i}" => { arn = "arn:aws:sqs:eu-west-1:123456789012:q${i}" } } } }
  }
  expect_failures = [var.rules]
}

run "rejects_target_arn_not_an_arn" {
  command = plan
  variables {
    rules = { r = { event_pattern = "{}", targets = { t = { arn = "my-queue" } } } }
  }
  expect_failures = [var.rules]
}

run "rejects_target_type_unknown" {
  command = plan
  variables {
    rules = { r = { event_pattern = "{}", targets = { t = { arn = "arn:aws:sqs:eu-west-1:123456789012:q", type = "queue" } } } }
  }
  expect_failures = [var.rules]
}

run "rejects_target_input_and_input_path" {
  command = plan
  variables {
    rules = { r = { event_pattern = "{}", targets = { t = { arn = "arn:aws:sqs:eu-west-1:123456789012:q", input = "{}", input_path = "$.detail" } } } }
  }
  expect_failures = [var.rules]
}

run "rejects_target_dead_letter_not_sqs" {
  command = plan
  variables {
    rules = { r = { event_pattern = "{}", targets = { t = { arn = "arn:aws:sqs:eu-west-1:123456789012:q", dead_letter_arn = "arn:aws:sns:eu-west-1:123456789012:t" } } } }
  }
  expect_failures = [var.rules]
}

run "rejects_target_retry_age_under_60" {
  command = plan
  variables {
    rules = { r = { event_pattern = "{}", targets = { t = { arn = "arn:aws:sqs:eu-west-1:123456789012:q", retry_policy = { maximum_event_age_in_seconds = 59 } } } } }
  }
  expect_failures = [var.rules]
}

run "rejects_target_retry_attempts_over_185" {
  command = plan
  variables {
    rules = { r = { event_pattern = "{}", targets = { t = { arn = "arn:aws:sqs:eu-west-1:123456789012:q", retry_policy = { maximum_retry_attempts = 186 } } } } }
  }
  expect_failures = [var.rules]
}

run "rejects_a_missing_deployment_zip_with_the_way_to_build_it" {
  command = plan
  variables {
    lambda_zip_path = "no-such-dir/fanout.zip"
  }
  expect_failures = [aws_lambda_function.this]
}
