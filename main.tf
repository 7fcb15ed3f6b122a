# The fan-out function, its log group and the stream -> function wiring.
# Event bus and rules: eventbus.tf, rules.tf. Queues: queues.tf. IAM: iam.tf. Alarms: alarms.tf.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  # Everything that names a resource or decides a count comes from values known at plan:
  # inputs and the provider's account/region/partition, never the stream ARN, which is
  # "known after apply" when the table is created in the same root and changes whenever
  # the stream is re-enabled (a new view type gives a new stream label).
  account_id = data.aws_caller_identity.current.account_id
  # `id` is the region's name on provider 5.x and 6.x alike; 6.0 deprecates `name`, and
  # `region`, which replaces it, does not exist before 6.0.
  region    = data.aws_region.current.id
  partition = data.aws_partition.current.partition

  # arn:<partition>:dynamodb:<region>:<account>:table/<table>/stream/<label>: the table
  # name is read from it only when neither name nor table_name is given.
  table_name = var.table_name != null ? var.table_name : split("/", split(":", var.dynamodb_stream_arn)[5])[1]

  # Lambda names allow [a-zA-Z0-9_-]; the base name keeps room for the queue and rule
  # suffixes within AWS's limits. A table name that has to be changed to fit (a '.'
  # replaced, or shortened beyond 43 characters) gets a hash of the whole table name, so
  # "orders.eu" and "orders-eu", or two long names sharing a prefix, never share a DLQ.
  table_name_safe = replace(local.table_name, "/[^a-zA-Z0-9_-]/", "-")
  name_from_table = (
    local.table_name_safe == local.table_name && length(local.table_name) <= 43 ? "${local.table_name}-fanout" :
    "${substr(local.table_name_safe, 0, 34)}-${substr(sha1(local.table_name), 0, 8)}-fanout"
  )
  name = var.name != null ? var.name : local.name_from_table

  # The module's buckets' default names (claim_check.tf, on_failure_bucket.tf). Bucket names
  # are global, lowercase, at most 63 characters: a readable part of the name, a hash of the
  # whole name, what the bucket holds, the account and the region. The hash is of the name
  # as given, so names that lowercase alike still differ.
  bucket_names = {
    for holds in ["large", "failed"] : holds => join("-", [
      trim(substr(replace(lower(local.name), "/[^a-z0-9-]/", "-"), 0, 16), "-"),
      substr(sha1(local.name), 0, 6), holds, local.account_id, local.region,
    ])
  }

  # The stream's table as the ARN names it (null while the ARN is unknown at plan).
  stream_table_name = try(split("/", split(":", var.dynamodb_stream_arn)[5])[1], null)

  event_source = coalesce(var.event_source, substr("dynamodb.${local.table_name}", 0, 256))

  # Enough PutEvents requests in flight that one batch publishes in one round
  # (10 entries per request), bounded so a large batch does not open 1,000 threads.
  publish_concurrency = var.publish_concurrency != null ? var.publish_concurrency : min(ceil(var.batch_size / 10), 32)

  lambda_zip_path = coalesce(var.lambda_zip_path, "${path.module}/dist/fanout.zip")
  log_group_name  = "/aws/lambda/${local.name}"

  environment = {
    EVENT_BUS_NAME      = local.event_bus_for_handler # ordered_bus.tf
    DLQ_URL             = aws_sqs_queue.dlq.url
    EVENT_SOURCE        = local.event_source
    MAX_ATTEMPTS        = tostring(var.max_attempts)
    DETAIL_FORMAT       = var.detail_format
    MAX_EVENT_BYTES     = tostring(var.max_event_bytes)
    DLQ_MAX_BYTES       = tostring(var.dlq.max_message_size)
    PUBLISH_CONCURRENCY = tostring(local.publish_concurrency)
    LOG_LEVEL           = var.log_level
    # The mapping's limits, so the handler parks a retryable record before the mapping skips it.
    MAXIMUM_RECORD_AGE_IN_SECONDS = tostring(var.maximum_record_age_in_seconds)
    MAXIMUM_RETRY_ATTEMPTS        = tostring(var.maximum_retry_attempts)
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
  role                           = local.role_arn
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
    variables = merge(local.environment, local.claim_check_environment, local.max_event_size_environment, local.ordered_bus_environment)
  }

  tracing_config {
    mode = var.tracing_mode
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.create_role || var.role_arn != null
      error_message = "With create_role = false, set role_arn to the execution role the function should use (attach the module's role_policy_json output to it)."
    }
    precondition {
      condition     = !var.create_role || var.role_arn == null
      error_message = "role_arn is set while create_role = true: the module would create its own role and ignore yours. Set create_role = false to run the function with role_arn, or remove role_arn."
    }
    precondition {
      condition     = var.table_name == null || local.stream_table_name == var.table_name
      error_message = "table_name \"${coalesce(var.table_name, "-")}\" is not the table of dynamodb_stream_arn (table \"${coalesce(local.stream_table_name, "-")}\"): the role would be granted another table's stream and the names would be wrong. Pass the stream's own table name (aws_dynamodb_table.<t>.name)."
    }
    precondition {
      condition     = fileexists(local.lambda_zip_path)
      error_message = "The deployment zip ${local.lambda_zip_path} does not exist. Run `make package` in the module's checkout (it writes dist/fanout.zip), or set lambda_zip_path to a zip built by it."
    }
    # The claim-check bucket the function writes to (claim_check.tf): one, given or created.
    precondition {
      condition     = !var.create_large_event_bucket || var.large_event_bucket == null
      error_message = "Set either large_event_bucket (an existing bucket) or create_large_event_bucket = true, not both."
    }
    precondition {
      condition     = !var.create_large_event_bucket || var.large_event_bucket_owner == null
      error_message = "large_event_bucket_owner is for a bucket given as large_event_bucket; the bucket create_large_event_bucket creates belongs to this account."
    }
  }

  # The log group must exist first, or Lambda creates one without retention;
  # the policy must be attached, or the first invocations fail on permissions.
  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.this,
    aws_iam_role_policy.claim_check,
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

  dynamic "destination_config" {
    for_each = local.create_on_failure_bucket || local.create_on_failure_queue || var.on_failure_destination_arn != null ? [1] : []
    content {
      on_failure {
        destination_arn = local.on_failure_destination_arn
      }
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

  lifecycle {
    # Where to start reading matters only when the mapping is created. Without this a
    # changed default (0.1.0: LATEST) would replace a running mapping, which re-reads the
    # stream's last 24 hours and publishes every change again.
    ignore_changes = [starting_position]

    # With neither limit, a failing batch is retried until DynamoDB trims its records
    # (24 hours): the shard stands still and the records are lost without an on-failure
    # record. The retry default became -1, so a root that set only the age to -1 would
    # otherwise get this silently.
    precondition {
      condition     = var.maximum_retry_attempts != -1 || var.maximum_record_age_in_seconds != -1
      error_message = "maximum_retry_attempts and maximum_record_age_in_seconds are both -1: a failing batch would block the shard until the stream trims its records (24 hours), which are then lost without an on-failure record. Set maximum_record_age_in_seconds (60-604800; the default is 21600), or maximum_retry_attempts (0-10000; 10 was the default before -1)."
    }
    # One on-failure destination: the module's bucket (on_failure_bucket.tf) or a given ARN.
    precondition {
      condition     = !local.create_on_failure_bucket || var.on_failure_destination_arn == null
      error_message = "on_failure_destination_arn is set while on_failure_bucket.create = true: a mapping has one on-failure destination. Remove on_failure_destination_arn to use the module's bucket, or set on_failure_bucket.create = false to use yours."
    }
  }

  # The poller checks the role's stream and destination permissions on create.
  depends_on = [aws_iam_role_policy.this]
}
