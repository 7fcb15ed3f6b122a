# Rules on the bus and their targets, plus the resource policies that let EventBridge
# deliver to SQS, Lambda and SNS targets when a target asks for them (create_permission).

locals {
  rule_names = { for k, r in var.rules : k => coalesce(r.name, "${local.name}-${k}") }

  targets = merge([
    for rk, r in var.rules : {
      for tk, t in r.targets : "${rk}/${tk}" => merge(t, {
        rule_key  = rk
        target_id = tk
        # The type decides which permission resource exists, so it must be known at plan:
        # taken from `type` when set, otherwise from the ARN's service.
        service = t.type != null ? t.type : (
          contains(["sqs", "lambda", "sns"], split(":", t.arn)[2]) ? split(":", t.arn)[2] : "other"
        )
      })
    }
  ]...)

  permission_targets = { for k, t in local.targets : k => t if t.create_permission }
  sqs_permissions    = { for k, t in local.permission_targets : k => t if t.service == "sqs" }
  lambda_permissions = { for k, t in local.permission_targets : k => t if t.service == "lambda" }
  sns_permissions    = { for k, t in local.permission_targets : k => t if t.service == "sns" }
}

resource "aws_cloudwatch_event_rule" "this" {
  for_each = var.rules

  name           = local.rule_names[each.key]
  description    = each.value.description
  event_bus_name = local.event_bus_for_rules
  event_pattern  = each.value.event_pattern
  state          = each.value.enabled ? "ENABLED" : "DISABLED"
  tags           = var.tags

  lifecycle {
    precondition {
      condition     = length(local.rule_names[each.key]) <= 64
      error_message = "Rule name \"${local.rule_names[each.key]}\" is longer than 64 characters: shorten the rules key, set the rule's name, or shorten the module's name."
    }
  }
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = local.targets

  rule           = aws_cloudwatch_event_rule.this[each.value.rule_key].name
  event_bus_name = local.event_bus_for_rules
  target_id      = each.value.target_id
  arn            = each.value.arn
  role_arn       = each.value.role_arn
  input          = each.value.input
  input_path     = each.value.input_path

  dynamic "input_transformer" {
    for_each = each.value.input_transformer == null ? [] : [each.value.input_transformer]
    content {
      input_paths    = input_transformer.value.input_paths
      input_template = input_transformer.value.input_template
    }
  }

  dynamic "dead_letter_config" {
    for_each = each.value.dead_letter_arn == null ? [] : [each.value.dead_letter_arn]
    content {
      arn = dead_letter_config.value
    }
  }

  dynamic "retry_policy" {
    for_each = each.value.retry_policy == null ? [] : [each.value.retry_policy]
    content {
      maximum_event_age_in_seconds = retry_policy.value.maximum_event_age_in_seconds
      maximum_retry_attempts       = retry_policy.value.maximum_retry_attempts
    }
  }

  dynamic "sqs_target" {
    for_each = each.value.sqs_message_group_id == null ? [] : [each.value.sqs_message_group_id]
    content {
      message_group_id = sqs_target.value
    }
  }
}

# --- SQS: the queue policy (one policy per queue, see the rules variable) -------------

data "aws_sqs_queue" "target" {
  for_each = local.sqs_permissions

  # arn:<partition>:sqs:<region>:<account>:<queue name>
  name = element(split(":", each.value.arn), 5)
}

resource "aws_sqs_queue_policy" "target" {
  for_each = local.sqs_permissions

  queue_url = data.aws_sqs_queue.target[each.key].url
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AllowEventBridgeRule"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = each.value.arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.this[each.value.rule_key].arn } }
    }]
  })

  lifecycle {
    precondition {
      condition     = length([for t in values(local.sqs_permissions) : t if t.arn == each.value.arn]) == 1
      error_message = "Queue ${each.value.arn} has create_permission on more than one target; a queue has one policy, so set create_permission on one target and write the policy for the others yourself."
    }
  }
}

# --- Lambda: a permission per rule and target ----------------------------------------

resource "aws_lambda_permission" "target" {
  for_each = local.lambda_permissions

  # Unique per rule (its name carries the module name) and target; at most 100 characters.
  statement_id  = substr("AllowEventBridge-${local.rule_names[each.value.rule_key]}-${each.value.target_id}", 0, 100)
  action        = "lambda:InvokeFunction"
  function_name = each.value.arn
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this[each.value.rule_key].arn
}

# --- SNS: the topic policy (one policy per topic) --------------------------------------

resource "aws_sns_topic_policy" "target" {
  for_each = local.sns_permissions

  arn = each.value.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AllowEventBridgeRule"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sns:Publish"
      Resource  = each.value.arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.this[each.value.rule_key].arn } }
    }]
  })

  lifecycle {
    precondition {
      condition     = length([for t in values(local.sns_permissions) : t if t.arn == each.value.arn]) == 1
      error_message = "Topic ${each.value.arn} has create_permission on more than one target; a topic has one policy, so set create_permission on one target and write the policy for the others yourself."
    }
  }
}
