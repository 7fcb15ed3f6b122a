# The fan-out function, its log group and the stream -> function wiring.
# Event bus and rules: eventbus.tf, rules.tf. Queues: queues.tf. IAM: iam.tf. Alarms: alarms.tf.

locals {
  # arn:<partition>:dynamodb:<region>:<account>:table/<table>/stream/<label>
  stream_arn_parts = split(":", var.dynamodb_stream_arn)
  partition        = local.stream_arn_parts[1]
  region           = local.stream_arn_parts[3]
  stream_account   = local.stream_arn_parts[4]
  table_name       = split("/", local.stream_arn_parts[5])[1]
  table_arn        = "arn:${local.partition}:dynamodb:${local.region}:${local.stream_account}:table/${local.table_name}"

  # Lambda names allow no dots; keep room for the "-fanout" suffix within 64 characters.
  name = coalesce(var.name, "${substr(replace(local.table_name, ".", "-"), 0, 43)}-fanout")

  event_source = coalesce(var.event_source, substr("dynamodb.${local.table_name}", 0, 256))

  lambda_zip_path = coalesce(var.lambda_zip_path, "${path.module}/dist/fanout.zip")
  log_group_name  = "/aws/lambda/${local.name}"

  environment = {
    EVENT_BUS_NAME      = local.event_bus_name_for_handler
    DLQ_URL             = aws_sqs_queue.dlq.url
    EVENT_SOURCE        = local.event_source
    MAX_ATTEMPTS        = tostring(var.max_attempts)
    DETAIL_FORMAT       = var.detail_format
    MAX_EVENT_BYTES     = tostring(var.max_event_bytes)
    DLQ_MAX_BYTES       = tostring(var.dlq.max_message_size)
    PUBLISH_CONCURRENCY = tostring(var.publish_concurrency)
    LOG_LEVEL           = var.log_level
  }
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is an input (default 30 days); a year of handler logs is the user's choice, not a module default.
  name              = local.log_group_name
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:A stream-invoked function has no asynchronous invocations; failed entries go to the module's SQS DLQ, failed batches to the on-failure destination.
  #checkov:skip=CKV_AWS_117:The function only calls AWS APIs; a VPC would add NAT or endpoints without protecting anything.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile the user owns; the zip is built reproducibly by `make package`.
  function_name                  = local.name
  description                    = "Fans out changes of DynamoDB table ${local.table_name} to EventBridge"
  role                           = aws_iam_role.this.arn
  handler                        = "fanout.handler.lambda_handler"
  runtime                        = var.runtime
  architectures                  = [var.architecture]
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = coalesce(var.reserved_concurrent_executions, -1)
  filename                       = local.lambda_zip_path
  source_code_hash               = fileexists(local.lambda_zip_path) ? filebase64sha256(local.lambda_zip_path) : null
  kms_key_arn                    = var.lambda_kms_key_arn

  environment {
    variables = merge(local.environment, local.claim_check_environment, local.max_event_size_environment)
  }

  tracing_config {
    mode = var.tracing_mode
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = fileexists(local.lambda_zip_path)
      error_message = "The deployment zip ${local.lambda_zip_path} does not exist. Run `make package` in the module's checkout (it writes dist/fanout.zip), or set lambda_zip_path to a zip built by it."
    }
  }

  # The log group must exist first, or Lambda creates one without retention;
  # the policy must be attached, or the first invocations fail on permissions.
  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.this,
  ]
}

resource "aws_lambda_event_source_mapping" "this" {
  count = var.create_event_source_mapping ? 1 : 0

  event_source_arn                   = var.dynamodb_stream_arn
  function_name                      = aws_lambda_function.this.arn
  enabled                            = var.event_source_mapping_enabled
  starting_position                  = var.starting_position
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  parallelization_factor             = var.parallelization_factor
  maximum_retry_attempts             = var.maximum_retry_attempts
  maximum_record_age_in_seconds      = var.maximum_record_age_in_seconds
  bisect_batch_on_function_error     = var.bisect_batch_on_function_error

  # The handler reports the first record it could neither publish nor dead-letter;
  # without this Lambda would retry the whole batch (duplicates) or drop it.
  function_response_types = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = local.on_failure_destination_arn
    }
  }

  dynamic "filter_criteria" {
    for_each = length(var.filter_criteria_patterns) > 0 ? [1] : []
    content {
      dynamic "filter" {
        for_each = var.filter_criteria_patterns
        content {
          pattern = filter.value
        }
      }
    }
  }

  tags = var.tags

  # The poller checks the role's stream and destination permissions on create.
  depends_on = [aws_iam_role_policy.this]
}
