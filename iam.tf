# The function's execution role: only what the handler and the stream poller need,
# each statement scoped to the one resource it is for. docs/module.md explains every line.

locals {
  on_failure_publish_statement = local.on_failure_destination_arn == null ? [] : [
    local.on_failure_is_sqs ? {
      Sid      = "SendBatchMetadataOnFailure"
      Effect   = "Allow"
      Action   = ["sqs:SendMessage"]
      Resource = [local.on_failure_destination_arn]
      } : {
      Sid      = "PublishBatchMetadataOnFailure"
      Effect   = "Allow"
      Action   = ["sns:Publish"]
      Resource = [local.on_failure_destination_arn]
    }
  ]

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
        Resource = [var.dynamodb_stream_arn]
      },
      {
        Sid      = "ListStreams"
        Effect   = "Allow"
        Action   = ["dynamodb:ListStreams"]
        Resource = ["*"] # ListStreams supports no resource-level permissions.
      },
      {
        Sid       = "PublishToTheBus"
        Effect    = "Allow"
        Action    = ["events:PutEvents"]
        Resource  = [local.event_bus_arn]
        Condition = { StringEquals = { "events:source" = local.event_source } }
      },
      {
        Sid      = "DeadLetterUnpublishedEvents"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = [aws_sqs_queue.dlq.arn]
      },
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.this.arn}:*"]
      },
    ],
    var.create_event_source_mapping ? local.on_failure_publish_statement : [],
    local.kms_statements,
    local.xray_statement,
  )
}

resource "aws_iam_role" "this" {
  name        = local.name
  description = "Execution role of the ${local.name} DynamoDB stream fan-out function"
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
  name = "fanout"
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = local.policy_statements
  })
}
