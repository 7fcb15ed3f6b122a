# The function's execution role: only what the handler and the stream poller need,
# each statement scoped to the one resource it is for. docs/module.md explains every line.

locals {
  # Role names are global to the account: the default carries the region, so the same
  # table fanned out in two regions (global tables) gets two roles. At most 64 characters;
  # a shortened name keeps a hash of the whole.
  role_name_full = var.role_name != null ? var.role_name : "${local.name}-${local.region}"
  role_name = (
    length(local.role_name_full) <= 64 ? local.role_name_full :
    "${substr(local.role_name_full, 0, 55)}-${substr(sha1(local.role_name_full), 0, 8)}"
  )
  role_arn = var.create_role ? aws_iam_role.this[0].arn : var.role_arn

  # Every ARN the policy names is built from plan-time values, so a first plan shows the
  # whole policy. The stream: any stream of this table, because re-enabling the stream
  # (a new view type) gives it a new label and the mapping moves to it in the same apply.
  stream_arns_for_policy = "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${local.table_name}/stream/*"
  log_group_arn          = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group_name}"
  event_bus_arn_for_policy = (
    local.ordered_bus ? var.ordered_event_bus_arn : # ordered_bus.tf; same action and condition key
    var.create_event_bus ? "arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/${local.event_bus_input}" :
    local.event_bus_arn
  )

  on_failure_publish_statements = {
    none = []
    sqs = [{
      Sid      = "SendBatchMetadataOnFailure"
      Effect   = "Allow"
      Action   = ["sqs:SendMessage"]
      Resource = [local.on_failure_destination_for_policy]
    }]
    sns = [{
      Sid      = "PublishBatchMetadataOnFailure"
      Effect   = "Allow"
      Action   = ["sns:Publish"]
      Resource = [local.on_failure_destination_for_policy]
    }]
    s3 = [
      {
        Sid      = "WriteFailedBatchesToBucket"
        Effect   = "Allow"
        Action   = ["s3:PutObject"]
        Resource = ["${coalesce(local.on_failure_destination_for_policy, "none")}/*"]
      },
      {
        Sid      = "ListFailedBatchesBucket"
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = [local.on_failure_destination_for_policy]
      },
    ]
  }

  # Customer managed keys the role must use: reading a stream of a CMK table (Decrypt),
  # sending to a CMK-encrypted queue or topic (GenerateDataKey + Decrypt).
  kms_decrypt_key_arns = compact([var.stream_kms_key_arn, var.lambda_kms_key_arn])
  kms_send_key_arns = distinct(compact([
    var.dlq.kms_key_arn,
    local.create_on_failure_queue ? var.dlq.kms_key_arn : null,
    var.create_event_source_mapping && !local.create_on_failure_queue ? var.on_failure_kms_key_arn : null,
  ]))

  kms_statements = concat(
    length(local.kms_decrypt_key_arns) == 0 ? [] : [{
      Sid      = "DecryptWithCustomerKeys"
      Effect   = "Allow"
      Action   = ["kms:Decrypt"]
      Resource = local.kms_decrypt_key_arns
    }],
    length(local.kms_send_key_arns) == 0 ? [] : [{
      Sid      = "EncryptForEncryptedQueues"
      Effect   = "Allow"
      Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
      Resource = local.kms_send_key_arns
    }],
  )

  xray_statement = var.tracing_mode == "Active" ? [{
    Sid      = "WriteTraces"
    Effect   = "Allow"
    Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    Resource = ["*"] # X-Ray has no resource-level permissions.
  }] : []

  policy_statements = concat(
    [
      {
        Sid      = "ReadTheStream"
        Effect   = "Allow"
        Action   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
        Resource = [local.stream_arns_for_policy]
      },
      {
        Sid      = "ListStreams"
        Effect   = "Allow"
        Action   = ["dynamodb:ListStreams"]
        Resource = ["*"] # ListStreams supports no resource-level permissions.
      },
      {
        Sid      = "PublishToTheBus"
        Effect   = "Allow"
        Action   = ["events:PutEvents"]
        Resource = [local.event_bus_arn_for_policy]
        # events:source is multivalued: ForAllValues checks every entry of a request, and
        # Null = false stops a request without the key from passing vacuously.
        Condition = {
          "ForAllValues:StringEquals" = { "events:source" = [local.event_source] }
          Null                        = { "events:source" = "false" }
        }
      },
      {
        Sid      = "DeadLetterUnpublishedEvents"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = [local.dlq_arn]
      },
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${local.log_group_arn}:*"]
      },
    ],
    lookup(local.on_failure_publish_statements, local.on_failure_service, []),
    local.kms_statements,
    local.xray_statement,
  )

  policy_json = jsonencode({
    Version   = "2012-10-17"
    Statement = local.policy_statements
  })
}

resource "aws_iam_role" "this" {
  count = var.create_role ? 1 : 0

  name                 = local.role_name
  path                 = var.role_path
  permissions_boundary = var.role_permissions_boundary
  description          = "Execution role of the ${local.name} DynamoDB stream fan-out function"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "LambdaAssumesRole"
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  count = var.create_role ? 1 : 0

  name   = "fanout"
  role   = aws_iam_role.this[0].id
  policy = local.policy_json
}
