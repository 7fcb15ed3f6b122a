# The function's execution role: only what the handler and the stream poller need,
# each statement scoped to the one resource it is for. docs/module.md explains every line.

locals {
  # Role names are global to the account: the default carries the region, so the same
  # table fanned out in two regions (global tables) gets two roles. At most 64 characters.
  # IAM compares names without case, so "Ledger-..." and "ledger-..." would be one role:
  # a default name with capitals, like a shortened one, keeps a hash of the whole.
  role_name_full = var.role_name != null ? var.role_name : "${local.name}-${local.region}"
  role_name = (
    length(local.role_name_full) <= 64 && (var.role_name != null || lower(local.role_name_full) == local.role_name_full) ? local.role_name_full :
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
    # What AWS lists for an S3 destination (s3:PutObject, s3:ListBucket), only in a bucket
    # of the expected owner: AWS recommends the s3:ResourceAccount condition so that failed
    # batches never reach a bucket of the same name in another account.
    s3 = [
      {
        Sid       = "WriteFailedBatchesToBucket"
        Effect    = "Allow"
        Action    = ["s3:PutObject"]
        Resource  = ["${coalesce(local.on_failure_destination_for_policy, "none")}/*"]
        Condition = { StringEquals = { "s3:ResourceAccount" = local.on_failure_bucket_owner } }
      },
      {
        Sid       = "ListFailedBatchesBucket"
        Effect    = "Allow"
        Action    = ["s3:ListBucket"]
        Resource  = [local.on_failure_destination_for_policy]
        Condition = { StringEquals = { "s3:ResourceAccount" = local.on_failure_bucket_owner } }
      },
    ]
  }

  # Customer managed keys, each granted only through the service that uses it on the
  # function's behalf (kms:ViaService) and, where that service sets an encryption context,
  # only for this function's own table, queues, bus, bucket or environment.
  via                     = { for s in ["dynamodb", "events", "lambda", "s3", "sns", "sqs"] : s => "${s}.${local.region}.${data.aws_partition.current.dns_suffix}" }
  function_arn_for_policy = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${local.name}"

  # The module's queues share dlq.kms_key_arn; a given on-failure queue or topic has its own key.
  # The on-failure queue only while it is the destination (a bucket may have taken over).
  module_queue_arns = compact([local.dlq_arn, local.on_failure_queue_is_destination ? local.on_failure_queue_arn : ""])
  on_failure_key_service = (
    var.create_event_source_mapping && !local.create_on_failure_queue && !local.create_on_failure_bucket && var.on_failure_kms_key_arn != null ? local.on_failure_service : "none"
  )

  kms_statements = concat(
    var.stream_kms_key_arn == null ? [] : [{
      Sid      = "DecryptTheStream"
      Effect   = "Allow"
      Action   = ["kms:Decrypt"]
      Resource = [var.stream_kms_key_arn]
      # DynamoDB's context names the table and the account in every KMS call.
      Condition = {
        StringEquals = {
          "kms:ViaService"                                  = local.via.dynamodb
          "kms:EncryptionContext:aws:dynamodb:tableName"    = local.table_name
          "kms:EncryptionContext:aws:dynamodb:subscriberId" = local.account_id
        }
      }
    }],
    var.lambda_kms_key_arn == null ? [] : [{
      Sid      = "DecryptTheEnvironment"
      Effect   = "Allow"
      Action   = ["kms:Decrypt"]
      Resource = [var.lambda_kms_key_arn]
      Condition = {
        StringEquals = {
          "kms:ViaService"                               = local.via.lambda
          "kms:EncryptionContext:aws:lambda:FunctionArn" = local.function_arn_for_policy
        }
      }
    }],
    var.dlq.kms_key_arn == null ? [] : [{
      Sid      = "EncryptForTheModuleQueues"
      Effect   = "Allow"
      Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
      Resource = [var.dlq.kms_key_arn]
      Condition = {
        StringEquals               = { "kms:ViaService" = local.via.sqs }
        "ForAnyValue:StringEquals" = { "kms:EncryptionContext:aws:sqs:arn" = local.module_queue_arns }
      }
    }],
    local.on_failure_key_service == "none" ? [] : [{
      Sid      = "EncryptForTheOnFailureDestination"
      Effect   = "Allow"
      Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
      Resource = [var.on_failure_kms_key_arn]
      Condition = merge(
        { StringEquals = { "kms:ViaService" = lookup(local.via, local.on_failure_key_service, local.via.sqs) } },
        # SQS binds data keys to the queue's ARN; SNS sets no documented context.
        local.on_failure_key_service == "sqs" ? { "ForAnyValue:StringEquals" = { "kms:EncryptionContext:aws:sqs:arn" = [var.on_failure_destination_arn] } } : {},
      )
    }],
    local.create_on_failure_bucket && var.on_failure_bucket.kms_key_arn != null ? [{
      Sid      = "EncryptFailedBatches"
      Effect   = "Allow"
      Action   = ["kms:GenerateDataKey"]
      Resource = [var.on_failure_bucket.kms_key_arn]
      # Through S3, for the module's bucket only: S3 binds the data key to the bucket's ARN
      # (with an S3 Bucket Key, which the bucket uses) or the object's ARN.
      Condition = {
        StringEquals = { "kms:ViaService" = local.via.s3 }
        StringLike   = { "kms:EncryptionContext:aws:s3:arn" = [local.on_failure_bucket_arn, "${local.on_failure_bucket_arn}/*"] }
      }
    }] : [],
    var.event_bus_kms_key_arn == null ? [] : [{
      Sid      = "EncryptForTheBus"
      Effect   = "Allow"
      Action   = ["kms:GenerateDataKey"]
      Resource = [var.event_bus_kms_key_arn]
      Condition = {
        StringEquals = {
          "kms:ViaService"                                 = local.via.events
          "kms:EncryptionContext:aws:events:event-bus:arn" = local.event_bus_arn_for_policy
        }
      }
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
      # Only for functions of this account (no confused deputy across accounts).
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
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
