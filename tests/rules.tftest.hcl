# Rules and targets become rules, targets and the permissions that let EventBridge deliver.

mock_provider "aws" {
  source = "./tests/mocks"
}

override_resource {
  target = aws_cloudwatch_event_rule.this["paid"]
  values = { arn = "arn:aws:events:eu-west-1:123456789012:rule/fanoutBus/orders-fanout-paid" }
}

override_resource {
  target = aws_cloudwatch_event_rule.this["removed"]
  values = { arn = "arn:aws:events:eu-west-1:123456789012:rule/fanoutBus/orders-fanout-removed" }
}

override_data {
  target = data.aws_sqs_queue.target["paid/billing"]
  values = { url = "https://sqs.eu-west-1.amazonaws.com/123456789012/billing" }
}

variables {
  dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2024-05-01T00:00:00.000"
  rules = {
    paid = {
      description   = "Orders that became paid"
      event_pattern = "{\"detail-type\":[\"MODIFY\"],\"detail\":{\"newImage\":{\"status\":[\"PAID\"]}}}"
      targets = {
        billing = {
          arn               = "arn:aws:sqs:eu-west-1:123456789012:billing"
          create_permission = true
          dead_letter_arn   = "arn:aws:sqs:eu-west-1:123456789012:billing-dlq"
          retry_policy      = { maximum_event_age_in_seconds = 3600, maximum_retry_attempts = 5 }
        }
        notifier = {
          arn               = "arn:aws:lambda:eu-west-1:123456789012:function:notifier"
          create_permission = true
          input_transformer = { input_paths = { id = "$.detail.keys.id" }, input_template = "{\"order\": <id>}" }
        }
        audit = {
          arn               = "arn:aws:sns:eu-west-1:123456789012:audit"
          create_permission = true
          input_path        = "$.detail"
        }
      }
    }
    removed = {
      event_pattern = "{\"detail-type\":[\"REMOVE\"]}"
      enabled       = false
      targets = {
        workflow = {
          arn      = "arn:aws:states:eu-west-1:123456789012:stateMachine:cleanup"
          role_arn = "arn:aws:iam::123456789012:role/events-to-sfn"
        }
        archive = {
          arn = "arn:aws:sqs:eu-west-1:123456789012:archive"
        }
      }
    }
  }
}

run "rules_on_the_bus" {
  assert {
    condition     = aws_cloudwatch_event_rule.this["paid"].name == "orders-fanout-paid" && aws_cloudwatch_event_rule.this["paid"].event_bus_name == "fanoutBus"
    error_message = "Rules must be named <name>-<key> on the module's bus."
  }
  assert {
    condition     = aws_cloudwatch_event_rule.this["paid"].state == "ENABLED" && aws_cloudwatch_event_rule.this["removed"].state == "DISABLED"
    error_message = "enabled must map to the rule state."
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.this["paid"].event_pattern) == { "detail-type" = ["MODIFY"], detail = { newImage = { status = ["PAID"] } } }
    error_message = "The event pattern must be passed through."
  }
  assert {
    condition     = output.rule_arns == { paid = "arn:aws:events:eu-west-1:123456789012:rule/fanoutBus/orders-fanout-paid", removed = "arn:aws:events:eu-west-1:123456789012:rule/fanoutBus/orders-fanout-removed" }
    error_message = "rule_arns must map rule keys to ARNs."
  }
}

run "targets_carry_their_settings" {
  assert {
    condition     = length(aws_cloudwatch_event_target.this) == 5
    error_message = "One target resource per rule target."
  }
  assert {
    condition = (
      aws_cloudwatch_event_target.this["paid/billing"].target_id == "billing" &&
      aws_cloudwatch_event_target.this["paid/billing"].rule == "orders-fanout-paid" &&
      aws_cloudwatch_event_target.this["paid/billing"].event_bus_name == "fanoutBus" &&
      aws_cloudwatch_event_target.this["paid/billing"].dead_letter_config[0].arn == "arn:aws:sqs:eu-west-1:123456789012:billing-dlq" &&
      aws_cloudwatch_event_target.this["paid/billing"].retry_policy[0].maximum_retry_attempts == 5 &&
      aws_cloudwatch_event_target.this["paid/billing"].retry_policy[0].maximum_event_age_in_seconds == 3600
    )
    error_message = "The SQS target must carry its id, rule, bus, DLQ and retry policy."
  }
  assert {
    condition     = aws_cloudwatch_event_target.this["paid/notifier"].input_transformer[0].input_template == "{\"order\": <id>}" && aws_cloudwatch_event_target.this["paid/notifier"].input_transformer[0].input_paths == tomap({ id = "$.detail.keys.id" })
    error_message = "The input transformer must be passed through."
  }
  assert {
    condition     = aws_cloudwatch_event_target.this["paid/audit"].input_path == "$.detail"
    error_message = "input_path must be passed through."
  }
  assert {
    condition     = aws_cloudwatch_event_target.this["removed/workflow"].role_arn == "arn:aws:iam::123456789012:role/events-to-sfn"
    error_message = "role_arn must be passed through."
  }
}

run "permissions_for_sqs_lambda_sns" {
  assert {
    condition     = keys(aws_sqs_queue_policy.target) == ["paid/billing"] && aws_sqs_queue_policy.target["paid/billing"].queue_url == "https://sqs.eu-west-1.amazonaws.com/123456789012/billing"
    error_message = "Only the SQS target with create_permission gets a queue policy, on its queue."
  }
  assert {
    condition = jsondecode(aws_sqs_queue_policy.target["paid/billing"].policy).Statement == [{
      Sid       = "AllowEventBridgeRule"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = "arn:aws:sqs:eu-west-1:123456789012:billing"
      Condition = { ArnEquals = { "aws:SourceArn" = "arn:aws:events:eu-west-1:123456789012:rule/fanoutBus/orders-fanout-paid" } }
    }]
    error_message = "The queue policy must let only this rule send to the queue."
  }
  assert {
    condition = (
      keys(aws_lambda_permission.target) == ["paid/notifier"] &&
      aws_lambda_permission.target["paid/notifier"].function_name == "arn:aws:lambda:eu-west-1:123456789012:function:notifier" &&
      aws_lambda_permission.target["paid/notifier"].principal == "events.amazonaws.com" &&
      aws_lambda_permission.target["paid/notifier"].action == "lambda:InvokeFunction" &&
      aws_lambda_permission.target["paid/notifier"].source_arn == "arn:aws:events:eu-west-1:123456789012:rule/fanoutBus/orders-fanout-paid"
    )
    error_message = "The Lambda target must get an invoke permission for this rule only."
  }
  assert {
    condition     = keys(aws_sns_topic_policy.target) == ["paid/audit"] && jsondecode(aws_sns_topic_policy.target["paid/audit"].policy).Statement[0].Condition.ArnEquals["aws:SourceArn"] == "arn:aws:events:eu-west-1:123456789012:rule/fanoutBus/orders-fanout-paid"
    error_message = "The SNS target must get a topic policy for this rule."
  }
}

run "explicit_type_for_arns_known_only_after_apply" {
  variables {
    rules = {
      all = {
        event_pattern = "{\"source\":[\"dynamodb.orders\"]}"
        targets = {
          consumer = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:consumer", type = "lambda", create_permission = true }
          other    = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:other", type = "other", create_permission = true }
        }
      }
    }
  }
  assert {
    condition     = keys(aws_lambda_permission.target) == ["all/consumer"]
    error_message = "type decides which permission is created."
  }
}

run "one_queue_policy_per_queue" {
  command = plan
  variables {
    rules = {
      a = { event_pattern = "{\"detail-type\":[\"INSERT\"]}", targets = { q = { arn = "arn:aws:sqs:eu-west-1:123456789012:shared", create_permission = true } } }
      b = { event_pattern = "{\"detail-type\":[\"REMOVE\"]}", targets = { q = { arn = "arn:aws:sqs:eu-west-1:123456789012:shared", create_permission = true } } }
    }
  }
  expect_failures = [aws_sqs_queue_policy.target]
}

run "rule_names_fit_64_characters" {
  command = plan
  variables {
    name  = "a-rather-long-function-name-for-the-orders-table"
    rules = { "a-rule-key-that-is-long-too" = { event_pattern = "{\"source\":[\"x\"]}" } }
  }
  expect_failures = [aws_cloudwatch_event_rule.this]
}
