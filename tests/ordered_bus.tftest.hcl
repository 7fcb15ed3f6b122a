# An existing new custom event bus (event-busv2): the function is told its ARN, the role may
# PutEvents on that one bus only, and inputs that do not apply to it are refused at plan.

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

variables {
  dynamodb_stream_arn   = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2024-05-01T00:00:00.000"
  create_event_bus      = false
  ordered_event_bus_arn = "arn:aws:events:eu-west-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"
}

run "publishes_to_the_one_ordered_bus" {
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "PublishToTheBus"]) == {
      Sid      = "PublishToTheBus"
      Effect   = "Allow"
      Action   = ["events:PutEvents"]
      Resource = ["arn:aws:events:eu-west-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"]
      Condition = {
        "ForAllValues:StringEquals" = { "events:source" = ["dynamodb.orders"] }
        Null                        = { "events:source" = "false" }
      }
    }
    error_message = "PutEvents (the IAM action of eventbridgev2 PutEvents too) must be on the ordered bus only: ${aws_iam_role_policy.this[0].policy}"
  }
  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if anytrue([for a in s.Action : startswith(a, "events:") || startswith(a, "eventbridgev2:") || startswith(a, "eventsv2:")])]) == 1
    error_message = "Exactly one statement may grant an events: action, and no eventbridgev2:/eventsv2: action (they do not exist and grant nothing)."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables.EVENT_BUS_NAME == var.ordered_event_bus_arn
    error_message = "The function must be given the event-busv2 ARN: that selects the ordered path."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables.EVENT_GROUPS == "10000"
    error_message = "The function must be told how many event groups to hash items into (10000 by default)."
  }
  assert {
    condition     = length(aws_cloudwatch_event_bus.this) == 0 && length(aws_cloudwatch_event_rule.this) == 0 && length(aws_cloudwatch_event_archive.this) == 0
    error_message = "No classic bus, rule or archive beside an ordered bus."
  }
  assert {
    condition     = output.event_bus_arn == var.ordered_event_bus_arn && output.event_bus_name == "orders"
    error_message = "The bus outputs must name the ordered bus: ${output.event_bus_name} ${output.event_bus_arn}"
  }
}

run "an_ordered_bus_in_another_region_is_named_by_its_arn" {
  variables {
    ordered_event_bus_arn = "arn:aws:events:us-east-1:210987654321:event-busv2/shared/zyxwvutsrqponmlkjihgfedcb"
    event_groups          = 64
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables.EVENT_GROUPS == "64"
    error_message = "EVENT_GROUPS must follow event_groups."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "PublishToTheBus"]).Resource == [var.ordered_event_bus_arn]
    error_message = "The statement must name the given bus, wherever it is."
  }
}

run "the_classic_path_is_unchanged_without_it" {
  variables {
    create_event_bus      = true
    ordered_event_bus_arn = null
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "PublishToTheBus"]).Resource == ["arn:aws:events:eu-west-1:123456789012:event-bus/orders-fanout-bus"]
    error_message = "Without ordered_event_bus_arn the module's own classic bus is the one."
  }
  assert {
    condition     = length(terraform_data.ordered_event_bus) == 0
    error_message = "No ordered-bus checks without an ordered bus."
  }
  assert {
    condition     = !contains(keys(aws_lambda_function.this.environment[0].variables), "EVENT_GROUPS")
    error_message = "EVENT_GROUPS means nothing on a classic bus: it is not set."
  }
}

run "refuses_rules_on_an_ordered_bus" {
  command = plan
  variables {
    rules = { paid = { event_pattern = "{\"detail-type\":[\"MODIFY\"]}" } }
  }
  expect_failures = [terraform_data.ordered_event_bus]
}

run "refuses_an_archive_on_an_ordered_bus" {
  command = plan
  variables {
    archive = { retention_days = 7 }
  }
  expect_failures = [terraform_data.ordered_event_bus]
}

run "refuses_creating_a_classic_bus_beside_it" {
  command = plan
  variables {
    create_event_bus = true
  }
  expect_failures = [terraform_data.ordered_event_bus]
}

run "refuses_a_classic_bus_name_as_well" {
  command = plan
  variables {
    event_bus_name = "orders-bus"
  }
  expect_failures = [terraform_data.ordered_event_bus]
}

run "refuses_what_is_not_an_event_busv2_arn" {
  command = plan
  variables {
    ordered_event_bus_arn = "arn:aws:events:eu-west-1:123456789012:event-bus/orders"
  }
  expect_failures = [var.ordered_event_bus_arn]
}
