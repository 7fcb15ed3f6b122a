# Out-of-range and malformed inputs fail at plan time with a message saying what is allowed.
# One plan checks many inputs: a `rejects_bad_inputs_*` run sets at most one bad value per
# variable (no validation refers to another variable) and expects every variable it sets to
# fail, so an input that slips through is named by Terraform ("var.X was expected to report
# an error but did not") and by the comment above its value. What is left, one per run.

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
    values = { id = "cn-north-1", name = "cn-north-1" }
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "ReadTheStream"]).Resource == ["arn:aws-cn:dynamodb:cn-north-1:123456789012:table/orders/stream/*"]
    error_message = "ARNs in the policy must carry the provider's partition."
  }
}

run "rejects_own_role_without_its_arn" {
  command = plan
  variables {
    create_role = false
  }
  expect_failures = [aws_lambda_function.this]
}

run "rejects_a_missing_deployment_zip_with_the_way_to_build_it" {
  command = plan
  variables {
    lambda_zip_path = "no-such-dir/fanout.zip"
  }
  expect_failures = [aws_lambda_function.this]
}

# Retries and age both unlimited: a failing batch would hold the shard until the stream trims
# its records, which are then lost without an on-failure record. The retry default is -1, so
# a root that sets only the age to -1 meets this check.
run "rejects_no_retry_limit_and_no_age_limit" {
  command = plan
  variables {
    maximum_record_age_in_seconds = -1
  }
  expect_failures = [aws_lambda_event_source_mapping.this]
}

run "accepts_a_retry_count_without_an_age_limit" {
  command = plan
  variables {
    maximum_record_age_in_seconds = -1
    maximum_retry_attempts        = 10
  }
  assert {
    condition     = aws_lambda_event_source_mapping.this[0].maximum_retry_attempts == 10 && aws_lambda_event_source_mapping.this[0].maximum_record_age_in_seconds == -1
    error_message = "One limit is enough: the former default (10 retries) with no age limit must plan."
  }
}

run "rejects_bad_inputs_1" {
  command = plan
  variables {
    # rejects create permission without type
    rules = {
      r = { event_pattern = "{\"source\":[\"x\"]}", targets = { q = { arn = "arn:aws:sqs:eu-west-1:123456789012:q", create_permission = true } } }
    }

    # rejects role arn not a role
    role_arn = "arn:aws:iam::123456789012:policy/fanout"

    # rejects permissions boundary not a policy
    role_permissions_boundary = "arn:aws:iam::123456789012:role/boundary"

    # rejects role path without slashes
    role_path = "service-roles"

    # rejects table name too short
    table_name = "ab"

    # rejects stream silence over a day
    stream_silence_alarm_minutes = 1441

    # rejects throttling alarm over a day
    throttling_alarm_minutes = 1441

    # rejects stream arn of a table not a stream
    dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"

    # rejects name with dots
    name = "orders.fanout"

    # rejects bus name with spaces
    event_bus_name = "my bus"

    # rejects max attempts zero
    max_attempts = 0

    # rejects event source reserved prefix
    event_source = "aws.dynamodb"

    # rejects detail format unknown
    detail_format = "xml"

    # rejects max event bytes over 1mib
    max_event_bytes = 1048577

    # rejects publish concurrency over 64
    publish_concurrency = 65

    # rejects runtime too old
    runtime = "python3.9"

    # rejects architecture unknown
    architecture = "arm32"

    # rejects memory too small
    memory_size = 64

    # rejects timeout over 15 minutes
    timeout = 901

    # rejects reserved concurrency negative
    reserved_concurrent_executions = -1

    # rejects log level critical
    log_level = "CRITICAL"

    # rejects tracing mode unknown
    tracing_mode = "On"

    # rejects log retention not allowed
    log_retention_in_days = 31

    # rejects kms alias instead of key
    log_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:alias/logs"

    # rejects dlq retention over 14 days
    dlq = { message_retention_seconds = 1209601 }

    # rejects batch size over 10000
    batch_size = 10001

    # rejects batching window over 300
    maximum_batching_window_in_seconds = 301

    # rejects starting position at timestamp
    starting_position = "AT_TIMESTAMP"

    # rejects parallelization over 10
    parallelization_factor = 11

    # rejects retry attempts below minus one
    maximum_retry_attempts = -2

    # rejects record age below 60
    maximum_record_age_in_seconds = 59

    # rejects six filter patterns
    filter_criteria_patterns = [for i in range(6) : jsonencode({ eventName = ["INSERT"] })]

    # rejects on failure destination not sqs sns or s3
    on_failure_destination_arn = "arn:aws:lambda:eu-west-1:123456789012:function:sink"

    # rejects iterator age threshold zero
    iterator_age_alarm_threshold_seconds = 0

    # rejects archive negative retention
    archive = { retention_days = -1 }

    # rejects event groups zero
    event_groups = 0
  }
  expect_failures = [
    var.rules,
    var.role_arn,
    var.role_permissions_boundary,
    var.role_path,
    var.table_name,
    var.stream_silence_alarm_minutes,
    var.throttling_alarm_minutes,
    var.dynamodb_stream_arn,
    var.name,
    var.event_bus_name,
    var.max_attempts,
    var.event_source,
    var.detail_format,
    var.max_event_bytes,
    var.publish_concurrency,
    var.runtime,
    var.architecture,
    var.memory_size,
    var.timeout,
    var.reserved_concurrent_executions,
    var.log_level,
    var.tracing_mode,
    var.log_retention_in_days,
    var.log_kms_key_arn,
    var.dlq,
    var.batch_size,
    var.maximum_batching_window_in_seconds,
    var.event_groups,
    var.starting_position,
    var.parallelization_factor,
    var.maximum_retry_attempts,
    var.maximum_record_age_in_seconds,
    var.filter_criteria_patterns,
    var.on_failure_destination_arn,
    var.iterator_age_alarm_threshold_seconds,
    var.archive,
  ]
}

run "rejects_bad_inputs_2" {
  command = plan
  variables {
    # rejects fractional throttling alarm minutes
    throttling_alarm_minutes = 2.5

    # rejects stream arn of another service
    dynamodb_stream_arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/orders"

    # rejects name too long
    name = "a123456789a123456789a123456789a123456789a123456789x"

    # rejects max attempts eleven
    max_attempts = 11

    # rejects event source too long
    event_source = join("", [for i in range(257) : "x"])

    # rejects max event bytes zero
    max_event_bytes = 0

    # rejects publish concurrency zero
    publish_concurrency = 0

    # rejects log level unknown
    log_level = "TRACE"

    # rejects dlq message size over 1mib
    dlq = { max_message_size = 1048577 }

    # rejects batch size zero
    batch_size = 0

    # rejects parallelization zero
    parallelization_factor = 0

    # rejects retry attempts over 10000
    maximum_retry_attempts = 10001

    # rejects record age over a week
    maximum_record_age_in_seconds = 604801

    # rejects filter pattern not json
    filter_criteria_patterns = ["eventName = INSERT"]

    # rejects rule pattern not json
    rules = { bad = { event_pattern = "{detail-type: [INSERT]}" } }

    # rejects archive name over 48 characters
    archive = { name = "a123456789a123456789a123456789a123456789a12345678" }

    # rejects fractional event groups
    event_groups = 2.5
  }
  expect_failures = [
    var.throttling_alarm_minutes,
    var.dynamodb_stream_arn,
    var.name,
    var.max_attempts,
    var.event_source,
    var.max_event_bytes,
    var.publish_concurrency,
    var.log_level,
    var.dlq,
    var.batch_size,
    var.parallelization_factor,
    var.maximum_retry_attempts,
    var.maximum_record_age_in_seconds,
    var.filter_criteria_patterns,
    var.rules,
    var.archive,
    var.event_groups,
  ]
}

run "rejects_bad_inputs_3" {
  command = plan
  variables {
    # rejects stream arn with short account
    dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:12345:table/orders/stream/2024-05-01T00:00:00.000"

    # rejects dlq kms alias
    dlq = { kms_key_arn = "alias/aws/sqs" }

    # rejects rule pattern json array
    rules = { bad = { event_pattern = "[\"INSERT\"]" } }

    # rejects archive name with a space
    archive = { name = "orders archive" }
  }
  expect_failures = [
    var.dynamodb_stream_arn,
    var.dlq,
    var.rules,
    var.archive,
  ]
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
