# The stream -> function mapping: optional, bounded, configurable.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2024-05-01T00:00:00.000"
}

run "mapping_can_be_left_out" {
  variables {
    create_event_source_mapping = false
  }
  assert {
    condition     = length(aws_lambda_event_source_mapping.this) == 0 && length(aws_sqs_queue.on_failure) == 0
    error_message = "create_event_source_mapping = false must create neither mapping nor on-failure queue."
  }
  assert {
    condition     = output.event_source_mapping_uuid == null && output.on_failure_destination_arn == null
    error_message = "Mapping outputs must be null without a mapping."
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.iterator_age) == 0 && length(aws_cloudwatch_metric_alarm.dlq_messages) == 1
    error_message = "Without a mapping there is no iterator age to watch; the DLQ alarm stays."
  }
  assert {
    condition     = aws_lambda_function.this.function_name == "orders-fanout" && output.dlq_url != null
    error_message = "The function and DLQ exist without a mapping."
  }
}

run "settings_reach_the_mapping" {
  variables {
    event_source_mapping_enabled       = false
    batch_size                         = 500
    maximum_batching_window_in_seconds = 5
    starting_position                  = "LATEST"
    parallelization_factor             = 4
    maximum_retry_attempts             = 2
    maximum_record_age_in_seconds      = -1
    bisect_batch_on_function_error     = false
    filter_criteria_patterns = [
      jsonencode({ eventName = ["INSERT", "MODIFY"] }),
      jsonencode({ dynamodb = { Keys = { pk = { S = [{ prefix = "ORDER#" }] } } } }),
    ]
    create_on_failure_queue    = false
    on_failure_destination_arn = "arn:aws:sqs:eu-west-1:123456789012:batch-failures"
  }
  assert {
    condition = (
      aws_lambda_event_source_mapping.this[0].enabled == false &&
      aws_lambda_event_source_mapping.this[0].batch_size == 500 &&
      aws_lambda_event_source_mapping.this[0].maximum_batching_window_in_seconds == 5 &&
      aws_lambda_event_source_mapping.this[0].starting_position == "LATEST" &&
      aws_lambda_event_source_mapping.this[0].parallelization_factor == 4 &&
      aws_lambda_event_source_mapping.this[0].maximum_retry_attempts == 2 &&
      aws_lambda_event_source_mapping.this[0].maximum_record_age_in_seconds == -1 &&
      aws_lambda_event_source_mapping.this[0].bisect_batch_on_function_error == false
    )
    error_message = "Mapping settings must follow the inputs."
  }
  assert {
    condition     = aws_lambda_event_source_mapping.this[0].function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "ReportBatchItemFailures must stay on whatever the other settings."
  }
  assert {
    condition     = length(aws_lambda_event_source_mapping.this[0].filter_criteria[0].filter) == 2
    error_message = "Each filter pattern must become a filter."
  }
  assert {
    condition     = aws_lambda_event_source_mapping.this[0].destination_config[0].on_failure[0].destination_arn == "arn:aws:sqs:eu-west-1:123456789012:batch-failures" && length(aws_sqs_queue.on_failure) == 0
    error_message = "A given on-failure destination replaces the module's queue."
  }
  assert {
    condition     = contains(one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "SendBatchMetadataOnFailure"]).Resource, "arn:aws:sqs:eu-west-1:123456789012:batch-failures")
    error_message = "The role must be able to send to the given on-failure queue."
  }
}
