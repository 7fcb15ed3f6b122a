# Every input reaches the argument it names: alarms, target settings, and the region half
# of each "in this account and region" check (a resource in the right account but another
# region is as unreachable as one in another account).

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2024-05-01T00:00:00.000"
}

run "alarm_inputs_reach_every_alarm" {
  command = plan
  variables {
    alarm_actions            = ["arn:aws:sns:eu-west-1:123456789012:oncall"]
    ok_actions               = ["arn:aws:sns:eu-west-1:123456789012:resolved"]
    alarm_evaluation_periods = 3
  }
  assert {
    condition = alltrue([for a in concat(
      aws_cloudwatch_metric_alarm.dlq_messages, aws_cloudwatch_metric_alarm.on_failure_messages,
      aws_cloudwatch_metric_alarm.errors, aws_cloudwatch_metric_alarm.iterator_age,
      aws_cloudwatch_metric_alarm.destination_delivery_failures, aws_cloudwatch_metric_alarm.iterator_age_missing,
      ) : a.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:oncall"]) && a.ok_actions == toset(["arn:aws:sns:eu-west-1:123456789012:resolved"])
    ])
    error_message = "alarm_actions and ok_actions must reach all six alarms."
  }
  assert {
    condition = {
      for a in concat(
        aws_cloudwatch_metric_alarm.dlq_messages, aws_cloudwatch_metric_alarm.on_failure_messages,
        aws_cloudwatch_metric_alarm.errors, aws_cloudwatch_metric_alarm.iterator_age,
        aws_cloudwatch_metric_alarm.destination_delivery_failures, aws_cloudwatch_metric_alarm.iterator_age_missing,
      ) : a.alarm_name => a.evaluation_periods
      } == {
      "orders-fanout-dlq-messages"                  = 1
      "orders-fanout-on-failure-messages"           = 1
      "orders-fanout-errors"                        = 3
      "orders-fanout-iterator-age"                  = 3
      "orders-fanout-destination-delivery-failures" = 1
      "orders-fanout-stream-not-read"               = 1
    }
    error_message = "alarm_evaluation_periods must reach the error and iterator-age alarms; a parked message or a lost batch alarms at once."
  }
}

run "target_settings_reach_the_target" {
  command = plan
  variables {
    rules = {
      paid = {
        event_pattern = "{\"detail-type\":[\"MODIFY\"]}"
        targets = {
          fifo = {
            arn                  = "arn:aws:sqs:eu-west-1:123456789012:orders.fifo"
            input                = "{\"kind\":\"paid\"}"
            sqs_message_group_id = "orders"
            role_arn             = "arn:aws:iam::123456789012:role/events-delivery"
            dead_letter_arn      = "arn:aws:sqs:eu-west-1:123456789012:events-dlq"
          }
        }
      }
    }
  }
  assert {
    condition     = aws_cloudwatch_event_target.this["paid/fifo"].input == "{\"kind\":\"paid\"}"
    error_message = "A target's input must be passed through."
  }
  assert {
    condition     = one(aws_cloudwatch_event_target.this["paid/fifo"].sqs_target).message_group_id == "orders"
    error_message = "sqs_message_group_id must reach the FIFO target."
  }
  assert {
    condition     = aws_cloudwatch_event_target.this["paid/fifo"].role_arn == "arn:aws:iam::123456789012:role/events-delivery" && one(aws_cloudwatch_event_target.this["paid/fifo"].dead_letter_config).arn == "arn:aws:sqs:eu-west-1:123456789012:events-dlq"
    error_message = "role_arn and dead_letter_arn must be passed through."
  }
}

run "topic_in_another_region_gets_no_policy" {
  command = plan
  variables {
    rules = {
      a = { event_pattern = "{\"detail-type\":[\"INSERT\"]}", targets = { audit = { arn = "arn:aws:sns:us-east-1:123456789012:audit", type = "sns", create_permission = true } } }
    }
  }
  expect_failures = [aws_sns_topic_policy.target]
}

run "function_in_another_region_gets_no_permission" {
  command = plan
  variables {
    rules = {
      a = { event_pattern = "{\"detail-type\":[\"INSERT\"]}", targets = { f = { arn = "arn:aws:lambda:us-east-1:123456789012:function:f", type = "lambda", create_permission = true } } }
    }
  }
  expect_failures = [aws_lambda_permission.target]
}

run "no_rules_on_a_bus_in_another_region" {
  command = plan
  variables {
    create_event_bus = false
    event_bus_name   = "arn:aws:events:us-east-1:123456789012:event-bus/central"
    rules            = { a = { event_pattern = "{\"detail-type\":[\"INSERT\"]}" } }
  }
  expect_failures = [aws_cloudwatch_event_rule.this]
}

run "no_archive_on_a_bus_in_another_region" {
  command = plan
  variables {
    create_event_bus = false
    event_bus_name   = "arn:aws:events:us-east-1:123456789012:event-bus/central"
    archive          = {}
  }
  expect_failures = [aws_cloudwatch_event_archive.this]
}

run "publishing_to_a_bus_in_another_region_is_allowed" {
  command = plan
  variables {
    create_event_bus = false
    event_bus_name   = "arn:aws:events:us-east-1:123456789012:event-bus/central"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables.EVENT_BUS_NAME == "arn:aws:events:us-east-1:123456789012:event-bus/central"
    error_message = "Without rules or archive a bus elsewhere is fine: the function publishes to it by ARN."
  }
}
