# The fan-out module used the way a user would, against a local moto_server.
#
# A table with a stream, the module reading it, and two consumer queues behind
# different rules: `audit` receives every change, `billing` only orders that
# became PAID. moto cannot run Lambda code, so the event source mapping is left
# out and `dynamodb-fanout local-run` reads the stream and calls the handler
# in-process with the function's environment (see docs/local-demo.md).

provider "aws" {
  region     = var.region
  access_key = "testing" # moto's dummy credentials; nothing here can reach AWS
  secret_key = "testing"

  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true

  endpoints {
    cloudwatch = var.endpoint
    dynamodb   = var.endpoint
    events     = var.endpoint
    iam        = var.endpoint
    lambda     = var.endpoint
    logs       = var.endpoint
    s3         = var.endpoint
    sqs        = var.endpoint
    sts        = var.endpoint
  }
}

data "aws_caller_identity" "current" {}

locals {
  bus_name = "${var.name}-bus"
  # Consumer -> the rule that feeds it. Rule names are set explicitly so each
  # queue's policy can admit exactly its rule by ARN without waiting for it:
  # module-created queue policies (create_permission) would chain every queue
  # behind its rule, which costs ~20 s per queue on moto.
  consumer_rules = {
    audit   = "${var.name}-all-changes"
    billing = "${var.name}-order-paid"
  }
  rule_arn_prefix = "arn:aws:events:${var.region}:${data.aws_caller_identity.current.account_id}:rule/${local.bus_name}"
}

resource "aws_dynamodb_table" "orders" {
  #checkov:skip=CKV_AWS_119:Local demo table on moto_server; a customer managed key would need KMS, which the demo does not run.
  name             = var.name
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "pk"
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  attribute {
    name = "pk"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }
}

# The consumers. Both queues are independent of each other and of the module,
# so Terraform creates them in parallel (each costs a while of polling on moto).
resource "aws_sqs_queue" "consumer" {
  for_each = local.consumer_rules

  name                    = "${var.name}-${each.key}"
  sqs_managed_sse_enabled = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AllowFanoutRule"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = "arn:aws:sqs:${var.region}:${data.aws_caller_identity.current.account_id}:${var.name}-${each.key}"
      Condition = { ArnEquals = { "aws:SourceArn" = "${local.rule_arn_prefix}/${each.value}" } }
    }]
  })
}

module "fanout" {
  source = "../../"

  dynamodb_stream_arn = aws_dynamodb_table.orders.stream_arn
  table_name          = aws_dynamodb_table.orders.name
  name                = "${var.name}-fanout"
  event_bus_name      = local.bus_name
  max_event_bytes     = var.max_event_bytes
  batch_size          = var.batch_size

  # moto cannot invoke Lambda code and drops stream records while a mapping
  # exists: leave it out and let the local poller play its part.
  create_event_source_mapping = false
  maximum_retry_attempts      = var.maximum_retry_attempts
  create_alarms               = true

  # Events above max_event_bytes (the oversize item) reach consumers as pointers to S3.
  create_large_event_bucket = true
  # A throwaway stack: destroy may delete the stored events (the default keeps a bucket
  # that holds events, and the destroy fails).
  large_event_bucket_force_destroy = true
  # moto_server speaks plain HTTP, and it applies a conditional Deny without evaluating
  # the condition: the TLS-only policy would refuse the function's own writes.
  large_event_bucket_tls_only = false

  rules = {
    all-changes = {
      name          = local.consumer_rules.audit
      description   = "Every change of an order, for the audit log"
      event_pattern = jsonencode({ "detail-type" = ["INSERT", "MODIFY", "REMOVE"] })
      targets       = { audit = { arn = aws_sqs_queue.consumer["audit"].arn, type = "sqs" } }
    }
    order-paid = {
      name        = local.consumer_rules.billing
      description = "Orders that became PAID, for billing"
      event_pattern = jsonencode({
        "detail-type" = ["MODIFY"]
        detail        = { newImage = { status = ["PAID"] } }
      })
      targets = { billing = { arn = aws_sqs_queue.consumer["billing"].arn, type = "sqs" } }
    }
  }

  tags = { example = "local" }
}
