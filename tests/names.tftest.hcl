# Two instances in one root must never compute the same name: a shared DLQ or on-failure
# queue (CreateQueue is idempotent) would be deleted with either instance. Whenever a
# name had to be changed to fit (a '.' replaced, a long name cut, capitals that IAM
# ignores), it carries a hash of the original; inside one instance a plan that would
# still give two things one name fails.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2024-05-01T00:00:00.000"
}

run "plain_table_names_keep_their_names" {
  command = plan
  variables {
    dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders-eu/stream/2024-05-01T00:00:00.000"
  }
  assert {
    condition     = aws_lambda_function.this.function_name == "orders-eu-fanout" && aws_sqs_queue.dlq.name == "orders-eu-fanout-dlq" && aws_iam_role.this[0].name == "orders-eu-fanout-eu-west-1"
    error_message = "A table name that fits as it is names everything as in 0.1.0 and 0.2.0."
  }
}

run "a_dotted_table_name_gets_a_hash" {
  command = plan
  variables {
    dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders.eu/stream/2024-05-01T00:00:00.000"
  }
  assert {
    condition     = aws_lambda_function.this.function_name == "orders-eu-${substr(sha1("orders.eu"), 0, 8)}-fanout"
    error_message = "orders.eu must not be named like orders-eu, got ${aws_lambda_function.this.function_name}."
  }
  assert {
    condition = toset([
      aws_sqs_queue.dlq.name, aws_sqs_queue.on_failure[0].name, aws_cloudwatch_log_group.this.name,
      aws_cloudwatch_event_bus.this[0].name, aws_iam_role.this[0].name,
      ]) == toset([
      "orders-eu-${substr(sha1("orders.eu"), 0, 8)}-fanout-dlq", "orders-eu-${substr(sha1("orders.eu"), 0, 8)}-fanout-on-failure",
      "/aws/lambda/orders-eu-${substr(sha1("orders.eu"), 0, 8)}-fanout", "orders-eu-${substr(sha1("orders.eu"), 0, 8)}-fanout-bus",
      "orders-eu-${substr(sha1("orders.eu"), 0, 8)}-fanout-eu-west-1",
    ])
    error_message = "Every derived name carries the hash."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables.EVENT_SOURCE == "dynamodb.orders.eu"
    error_message = "The event source keeps the table name as it is."
  }
}

run "capitals_in_a_role_name_get_a_hash" {
  command = plan
  variables {
    dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/Ledger/stream/2024-05-01T00:00:00.000"
  }
  assert {
    condition     = aws_iam_role.this[0].name == "Ledger-fanout-eu-west-1-${substr(sha1("Ledger-fanout-eu-west-1"), 0, 8)}" && aws_lambda_function.this.function_name == "Ledger-fanout"
    error_message = "IAM ignores case: Ledger's role must not be ledger's, got ${aws_iam_role.this[0].name}."
  }
}

run "lowercase_role_names_keep_their_names" {
  command = plan
  variables {
    dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/ledger/stream/2024-05-01T00:00:00.000"
  }
  assert {
    condition     = aws_iam_role.this[0].name == "ledger-fanout-eu-west-1"
    error_message = "A lowercase role name is kept."
  }
}

run "a_given_role_name_is_used_as_it_is" {
  command = plan
  variables {
    role_name = "Ledger-Fanout"
  }
  assert {
    condition     = aws_iam_role.this[0].name == "Ledger-Fanout"
    error_message = "role_name is the user's: no hash."
  }
}

run "two_rules_with_one_name_fail_the_plan" {
  command = plan
  variables {
    rules = {
      paid    = { event_pattern = "{\"detail-type\":[\"MODIFY\"]}" }
      settled = { name = "orders-fanout-paid", event_pattern = "{\"detail-type\":[\"INSERT\"]}" }
    }
  }
  expect_failures = [aws_cloudwatch_event_rule.this]
}

run "long_permission_ids_stay_unique" {
  command = plan
  variables {
    rules = {
      "a-rule-key-that-is-rather-long-for-a-rule-kind" = {
        event_pattern = "{\"detail-type\":[\"MODIFY\"]}"
        targets = {
          "consumer-function-with-a-long-target-id-number-one" = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:one", type = "lambda", create_permission = true }
          "consumer-function-with-a-long-target-id-number-two" = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:two", type = "lambda", create_permission = true }
        }
      }
    }
  }
  assert {
    condition     = length(distinct([for p in aws_lambda_permission.target : p.statement_id])) == 2 && alltrue([for p in aws_lambda_permission.target : length(p.statement_id) <= 100])
    error_message = "Statement ids cut to 100 characters must still differ."
  }
}
