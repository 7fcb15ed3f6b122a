# Rules and targets become rules, targets and the permissions that let EventBridge deliver.

mock_provider "aws" {
  source = "./tests/mocks"
}

override_resource {
  target = aws_cloudwatch_event_rule.this["paid"]
  values = { arn = "arn:aws:events:eu-west-1:123456789012:rule/orders-fanout-bus/orders-fanout-paid" }
}

override_resource {
  target = aws_cloudwatch_event_rule.this["removed"]
  values = { arn = "arn:aws:events:eu-west-1:123456789012:rule/orders-fanout-bus/orders-fanout-removed" }
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
          type              = "sqs"
          create_permission = true
          dead_letter_arn   = "arn:aws:sqs:eu-west-1:123456789012:billing-dlq"
          retry_policy      = { maximum_event_age_in_seconds = 3600, maximum_retry_attempts = 5 }
        }
        notifier = {
          arn               = "arn:aws:lambda:eu-west-1:123456789012:function:notifier"
          type              = "lambda"
          create_permission = true
          input_transformer = { input_paths = { id = "$.detail.keys.id" }, input_template = "{\"order\": <id>}" }
        }
        audit = {
          arn               = "arn:aws:sns:eu-west-1:123456789012:audit"
          type              = "sns"
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
    condition     = aws_cloudwatch_event_rule.this["paid"].name == "orders-fanout-paid" && aws_cloudwatch_event_rule.this["paid"].event_bus_name == "orders-fanout-bus"
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
    condition     = output.rule_arns == { paid = "arn:aws:events:eu-west-1:123456789012:rule/orders-fanout-bus/orders-fanout-paid", removed = "arn:aws:events:eu-west-1:123456789012:rule/orders-fanout-bus/orders-fanout-removed" }
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
      aws_cloudwatch_event_target.this["paid/billing"].event_bus_name == "orders-fanout-bus" &&
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
    condition     = keys(aws_sqs_queue_policy.target) == ["billing"] && aws_sqs_queue_policy.target["billing"].queue_url == "https://sqs.eu-west-1.amazonaws.com/123456789012/billing"
    error_message = "Only the SQS target with create_permission gets a queue policy, on the queue its ARN names."
  }
  assert {
    condition = jsondecode(aws_sqs_queue_policy.target["billing"].policy) == {
      Version = "2012-10-17"
      Statement = [{
        Sid       = "EventBridgeRule0paid"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = "arn:aws:sqs:eu-west-1:123456789012:billing"
        Condition = { ArnEquals = { "aws:SourceArn" = "arn:aws:events:eu-west-1:123456789012:rule/orders-fanout-bus/orders-fanout-paid" } }
      }]
    }
    error_message = "The queue policy must let only this rule's events service principal send to the queue, and nothing else."
  }
  assert {
    condition = (
      keys(aws_lambda_permission.target) == ["paid/notifier"] &&
      aws_lambda_permission.target["paid/notifier"].function_name == "arn:aws:lambda:eu-west-1:123456789012:function:notifier" &&
      aws_lambda_permission.target["paid/notifier"].principal == "events.amazonaws.com" &&
      aws_lambda_permission.target["paid/notifier"].action == "lambda:InvokeFunction" &&
      aws_lambda_permission.target["paid/notifier"].source_arn == "arn:aws:events:eu-west-1:123456789012:rule/orders-fanout-bus/orders-fanout-paid"
    )
    error_message = "The Lambda target must get an invoke permission for this rule only."
  }
  assert {
    condition = keys(aws_sns_topic_policy.target) == ["audit"] && aws_sns_topic_policy.target["audit"].arn == "arn:aws:sns:eu-west-1:123456789012:audit" && jsondecode(aws_sns_topic_policy.target["audit"].policy) == {
      Version = "2012-10-17"
      Statement = [{
        Sid       = "EventBridgeRule0paid"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sns:Publish"
        Resource  = "arn:aws:sns:eu-west-1:123456789012:audit"
        Condition = { ArnEquals = { "aws:SourceArn" = "arn:aws:events:eu-west-1:123456789012:rule/orders-fanout-bus/orders-fanout-paid" } }
      }]
    }
    error_message = "The topic policy must let only this rule's events service principal publish, and nothing else."
  }
}

run "rules_are_tagged" {
  variables {
    tags = { team = "orders" }
  }
  assert {
    condition     = alltrue([for r in aws_cloudwatch_event_rule.this : r.tags == tomap({ team = "orders" })])
    error_message = "tags must reach every rule."
  }
  assert {
    condition     = output.rule_names == { paid = "orders-fanout-paid", removed = "orders-fanout-removed" }
    error_message = "rule_names must map rule keys to names."
  }
}

run "many_rules_one_queue_one_policy" {
  variables {
    rules = {
      a = { event_pattern = "{\"detail-type\":[\"INSERT\"]}", targets = { shared = { arn = "arn:aws:sqs:eu-west-1:123456789012:shared", type = "sqs", create_permission = true } } }
      b = { event_pattern = "{\"detail-type\":[\"REMOVE\"]}", targets = { shared = { arn = "arn:aws:sqs:eu-west-1:123456789012:shared", type = "sqs", create_permission = true } } }
      c = { event_pattern = "{\"detail-type\":[\"MODIFY\"]}", targets = { shared = { arn = "arn:aws:sqs:eu-west-1:123456789012:shared", type = "sqs", create_permission = true } } }
    }
  }
  override_resource {
    target = aws_cloudwatch_event_rule.this["a"]
    values = { arn = "arn:aws:events:eu-west-1:123456789012:rule/orders-fanout-bus/orders-fanout-a" }
  }
  override_resource {
    target = aws_cloudwatch_event_rule.this["b"]
    values = { arn = "arn:aws:events:eu-west-1:123456789012:rule/orders-fanout-bus/orders-fanout-b" }
  }
  override_resource {
    target = aws_cloudwatch_event_rule.this["c"]
    values = { arn = "arn:aws:events:eu-west-1:123456789012:rule/orders-fanout-bus/orders-fanout-c" }
  }
  assert {
    condition     = keys(aws_sqs_queue_policy.target) == ["shared"]
    error_message = "A queue fed by three rules must get one policy."
  }
  assert {
    condition = [for st in jsondecode(aws_sqs_queue_policy.target["shared"].policy).Statement : st.Condition.ArnEquals["aws:SourceArn"]] == [
      "arn:aws:events:eu-west-1:123456789012:rule/orders-fanout-bus/orders-fanout-a",
      "arn:aws:events:eu-west-1:123456789012:rule/orders-fanout-bus/orders-fanout-b",
      "arn:aws:events:eu-west-1:123456789012:rule/orders-fanout-bus/orders-fanout-c",
    ]
    error_message = "The policy must have one statement per rule, each admitting that rule only."
  }
  assert {
    condition = alltrue([for st in jsondecode(aws_sqs_queue_policy.target["shared"].policy).Statement :
      st.Principal == { Service = "events.amazonaws.com" } && st.Action == "sqs:SendMessage" && st.Effect == "Allow" && st.Resource == "arn:aws:sqs:eu-west-1:123456789012:shared"
    ]) && length(distinct([for st in jsondecode(aws_sqs_queue_policy.target["shared"].policy).Statement : st.Sid])) == 3
    error_message = "Every statement: EventBridge may only SendMessage to this queue; Sids unique."
  }
}

run "queue_in_another_account_gets_no_policy" {
  command = plan
  variables {
    rules = {
      a = { event_pattern = "{\"detail-type\":[\"INSERT\"]}", targets = { billing = { arn = "arn:aws:sqs:eu-west-1:999999999999:billing", type = "sqs", create_permission = true } } }
    }
  }
  expect_failures = [aws_sqs_queue_policy.target]
}

run "queue_in_another_region_gets_no_policy" {
  command = plan
  variables {
    rules = {
      a = { event_pattern = "{\"detail-type\":[\"INSERT\"]}", targets = { billing = { arn = "arn:aws:sqs:us-east-1:123456789012:billing", type = "sqs", create_permission = true } } }
    }
  }
  expect_failures = [aws_sqs_queue_policy.target]
}

run "topic_in_another_account_gets_no_policy" {
  command = plan
  variables {
    rules = {
      a = { event_pattern = "{\"detail-type\":[\"INSERT\"]}", targets = { audit = { arn = "arn:aws:sns:eu-west-1:999999999999:audit", type = "sns", create_permission = true } } }
    }
  }
  expect_failures = [aws_sns_topic_policy.target]
}

run "function_in_another_account_gets_no_permission" {
  command = plan
  variables {
    rules = {
      a = { event_pattern = "{\"detail-type\":[\"INSERT\"]}", targets = { f = { arn = "arn:aws:lambda:eu-west-1:999999999999:function:f", type = "lambda", create_permission = true } } }
    }
  }
  expect_failures = [aws_lambda_permission.target]
}

run "no_rules_on_another_accounts_bus" {
  command = plan
  variables {
    create_event_bus = false
    event_bus_name   = "arn:aws:events:eu-west-1:210987654321:event-bus/central"
    rules            = { a = { event_pattern = "{\"detail-type\":[\"INSERT\"]}" } }
  }
  expect_failures = [aws_cloudwatch_event_rule.this]
}

run "no_archive_on_another_accounts_bus" {
  command = plan
  variables {
    create_event_bus = false
    event_bus_name   = "arn:aws:events:eu-west-1:210987654321:event-bus/central"
    archive          = {}
    rules            = {}
  }
  expect_failures = [aws_cloudwatch_event_archive.this]
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

run "one_target_key_names_one_queue" {
  command = plan
  variables {
    rules = {
      a = { event_pattern = "{\"detail-type\":[\"INSERT\"]}", targets = { q = { arn = "arn:aws:sqs:eu-west-1:123456789012:one", type = "sqs", create_permission = true } } }
      b = { event_pattern = "{\"detail-type\":[\"REMOVE\"]}", targets = { q = { arn = "arn:aws:sqs:eu-west-1:123456789012:two", type = "sqs", create_permission = true } } }
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

# Patterns EventBridge would reject for their shape fail at plan, not halfway through apply.

run "accepts_patterns_of_arrays_and_objects" {
  command = plan
  variables {
    rules = {
      paid = { event_pattern = jsonencode({ "detail-type" = ["MODIFY"], detail = { newImage = { status = ["PAID"], total = [{ numeric = [">", 100] }] }, changedAttributes = ["status"] } }) }
      any  = { event_pattern = jsonencode({ "$or" = [{ "detail-type" = ["INSERT"] }, { detail = { keys = { pk = [{ prefix = "o-" }] } } }] }) }
      deep = { event_pattern = jsonencode({ detail = { newImage = { address = { city = ["Oslo"] } } } }) }
    }
  }
  assert {
    condition     = length(aws_cloudwatch_event_rule.this) == 3
    error_message = "Patterns of non-empty arrays and objects must be accepted."
  }
}

run "rejects_a_top_level_string" {
  command = plan
  variables {
    rules = { modified = { event_pattern = jsonencode({ "detail-type" = "MODIFY" }) } }
  }
  expect_failures = [var.rules]
}

run "rejects_a_top_level_empty_array" {
  command = plan
  variables {
    rules = { nothing = { event_pattern = jsonencode({ source = [] }) } }
  }
  expect_failures = [var.rules]
}

run "rejects_a_detail_leaf_that_is_a_string" {
  command = plan
  variables {
    rules = { paid = { event_pattern = jsonencode({ detail = { newImage = { status = "PAID" } } }) } }
  }
  expect_failures = [var.rules]
}

run "rejects_a_detail_leaf_that_is_a_number_or_null" {
  command = plan
  variables {
    rules = { big = { event_pattern = "{\"detail\":{\"newImage\":{\"total\":100,\"note\":null}}}" } }
  }
  expect_failures = [var.rules]
}

run "rejects_detail_that_is_not_an_object" {
  command = plan
  variables {
    rules = { odd = { event_pattern = jsonencode({ detail = "PAID" }) } }
  }
  expect_failures = [var.rules]
}

run "rejects_an_empty_array_three_levels_into_detail" {
  command = plan
  variables {
    rules = { deep = { event_pattern = jsonencode({ detail = { newImage = { address = { city = [] } } } }) } }
  }
  expect_failures = [var.rules]
}
