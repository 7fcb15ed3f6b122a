# Inputs that would plan but go wrong on apply (or, worse, apply and do the wrong thing)
# fail the plan with a message saying what is allowed.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2024-05-01T00:00:00.000"
}

run "type_must_match_the_arns_service" {
  command = plan
  variables {
    rules = {
      r = { event_pattern = "{\"detail-type\":[\"INSERT\"]}", targets = { t = { arn = "arn:aws:sns:eu-west-1:123456789012:audit", type = "sqs", create_permission = true } } }
    }
  }
  expect_failures = [var.rules]
}

run "a_table_is_no_target" {
  command = plan
  variables {
    rules = {
      r = { event_pattern = "{\"detail-type\":[\"INSERT\"]}", targets = { t = { arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/copy" } } }
    }
  }
  expect_failures = [var.rules]
}

run "supported_targets_of_every_kind_are_accepted" {
  command = plan
  variables {
    rules = {
      r = {
        event_pattern = "{\"detail-type\":[\"INSERT\"]}"
        targets = {
          flow   = { arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:flow", type = "other" }
          stream = { arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/changes" }
          bus    = { arn = "arn:aws:events:eu-west-1:210987654321:event-bus/central" }
          logs   = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/events/orders" }
          api    = { arn = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST/orders" }
        }
      }
    }
  }
  assert {
    condition     = length(aws_cloudwatch_event_target.this) == 5
    error_message = "Every supported service must be accepted."
  }
}

run "table_name_must_be_the_streams_table" {
  command = plan
  variables {
    table_name = "payments"
  }
  expect_failures = [aws_lambda_function.this]
}

run "role_arn_with_create_role_is_an_error" {
  command = plan
  variables {
    role_arn = "arn:aws:iam::123456789012:role/platform/fanout"
  }
  expect_failures = [aws_lambda_function.this]
}

run "aws_tag_keys_are_refused" {
  command = plan
  variables {
    tags = { "aws:cloudformation:stack-name" = "x", team = "orders" }
  }
  expect_failures = [var.tags]
}

run "aws_tag_keys_are_refused_in_any_case" {
  command = plan
  variables {
    tags = { "AWS:team" = "x" }
  }
  expect_failures = [var.tags]
}

run "bus_kms_key_must_be_a_key_arn" {
  command = plan
  variables {
    event_bus_kms_key_arn = "alias/events"
  }
  expect_failures = [var.event_bus_kms_key_arn]
}
