# Rules on the bus and their targets, plus the resource policies that let EventBridge
# deliver to SQS, Lambda and SNS targets when a target asks for them (create_permission).

locals {
  rule_names = { for k, r in var.rules : k => coalesce(r.name, "${local.name}-${k}") }

  targets = merge([
    for rk, r in var.rules : {
      for tk, t in r.targets : "${rk}/${tk}" => merge(t, { rule_key = rk, target_id = tk })
    }
  ]...)

  # Which permission resource a target gets is decided by its `type` alone (required with
  # create_permission, see the rules variable): a plan-time value, whatever the ARN.
  permission_targets = { for k, t in local.targets : k => t if t.create_permission }
  lambda_permissions = { for k, t in local.permission_targets : k => t if t.type == "lambda" }
  lambda_statement_ids = {
    for k, t in local.lambda_permissions : k => (
      length("AllowEventBridge-${local.rule_names[t.rule_key]}-${t.target_id}") <= 100 ? "AllowEventBridge-${local.rule_names[t.rule_key]}-${t.target_id}" :
      "${substr("AllowEventBridge-${local.rule_names[t.rule_key]}-${t.target_id}", 0, 91)}-${substr(sha1("AllowEventBridge-${local.rule_names[t.rule_key]}-${t.target_id}"), 0, 8)}"
    )
  }

  # A queue or topic has one policy: one policy per target key, with a statement for every
  # rule that delivers to it. The key, not the ARN, groups them, because the ARN of a queue
  # created in the same root is unknown at plan and for_each keys must be known.
  sqs_policies = {
    for tk in distinct([for t in values(local.permission_targets) : t.target_id if t.type == "sqs"]) :
    tk => [for t in values(local.permission_targets) : t if t.type == "sqs" && t.target_id == tk]
  }
  sns_policies = {
    for tk in distinct([for t in values(local.permission_targets) : t.target_id if t.type == "sns"]) :
    tk => [for t in values(local.permission_targets) : t if t.type == "sns" && t.target_id == tk]
  }
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
      condition     = !local.event_bus_is_foreign
      error_message = "Rule ${each.key}: rules are created in the bus's account and region, and ${local.event_bus_input} is in ${local.event_bus_elsewhere}. Leave rules empty and create them there."
    }
    precondition {
      condition     = length(local.rule_names[each.key]) <= 64
      error_message = "Rule name \"${local.rule_names[each.key]}\" is longer than 64 characters: shorten the rules key, set the rule's name, or shorten the module's name."
    }
    precondition {
      condition     = length([for k, n in local.rule_names : k if n == local.rule_names[each.key]]) == 1
      error_message = "Rules ${join(" and ", [for k, n in local.rule_names : k if n == local.rule_names[each.key]])} would both be named \"${local.rule_names[each.key]}\" (one rule on the bus, each overwriting the other): give them different keys or names."
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

# --- SQS: one queue policy per queue, a statement per rule ------------------------------

resource "aws_sqs_queue_policy" "target" {
  for_each = local.sqs_policies

  # The URL is built from the ARN: looking the queue up by name would find a queue of
  # that name in the provider's account and region, which may not be the target.
  queue_url = format(
    "https://sqs.%s.%s/%s/%s",
    split(":", each.value[0].arn)[3], data.aws_partition.current.dns_suffix,
    split(":", each.value[0].arn)[4], split(":", each.value[0].arn)[5],
  )
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [for i, t in each.value : {
      Sid       = format("EventBridgeRule%d%s", i, replace(t.rule_key, "/[^A-Za-z0-9]/", ""))
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = t.arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.this[t.rule_key].arn } }
    }]
  })

  lifecycle {
    precondition {
      condition     = length(distinct([for t in each.value : t.arn])) == 1
      error_message = "Targets with key ${each.key} and create_permission point at different queues (${join(", ", distinct([for t in each.value : t.arn]))}). The key names the queue policy: give targets on different queues different keys."
    }
    precondition {
      condition     = alltrue([for t in each.value : split(":", t.arn)[3] == local.region && split(":", t.arn)[4] == local.account_id])
      error_message = "Queue ${each.value[0].arn} is not in this account and region (${local.account_id}, ${local.region}): its owner must write its policy. Set create_permission = false for target ${each.key}."
    }
  }
}

# --- Lambda: a permission per rule and target ----------------------------------------

resource "aws_lambda_permission" "target" {
  for_each = local.lambda_permissions

  # Unique per rule (its name carries the module name) and target; at most 100 characters,
  # a longer one shortened with a hash of the whole so that two never collide.
  statement_id  = local.lambda_statement_ids[each.key]
  action        = "lambda:InvokeFunction"
  function_name = each.value.arn
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this[each.value.rule_key].arn

  lifecycle {
    precondition {
      condition     = split(":", each.value.arn)[3] == local.region && split(":", each.value.arn)[4] == local.account_id
      error_message = "Function ${each.value.arn} is not in this account and region (${local.account_id}, ${local.region}): its owner must add the permission. Set create_permission = false for target ${each.key}."
    }
  }
}

# --- SNS: one topic policy per topic, a statement per rule ------------------------------

resource "aws_sns_topic_policy" "target" {
  for_each = local.sns_policies

  arn = each.value[0].arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [for i, t in each.value : {
      Sid       = format("EventBridgeRule%d%s", i, replace(t.rule_key, "/[^A-Za-z0-9]/", ""))
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sns:Publish"
      Resource  = t.arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.this[t.rule_key].arn } }
    }]
  })

  lifecycle {
    precondition {
      condition     = length(distinct([for t in each.value : t.arn])) == 1
      error_message = "Targets with key ${each.key} and create_permission point at different topics (${join(", ", distinct([for t in each.value : t.arn]))}). The key names the topic policy: give targets on different topics different keys."
    }
    precondition {
      condition     = alltrue([for t in each.value : split(":", t.arn)[3] == local.region && split(":", t.arn)[4] == local.account_id])
      error_message = "Topic ${each.value[0].arn} is not in this account and region (${local.account_id}, ${local.region}): its owner must write its policy. Set create_permission = false for target ${each.key}."
    }
  }
}
