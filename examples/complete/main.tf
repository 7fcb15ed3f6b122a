# A table with a stream, the fan-out module, and two consumers behind their own rules:
# a Lambda function that logs every change, and an SQS queue that gets paid orders.
#
#   make -C ../.. venv        # dist/fanout.zip ships with the module; `make package` only after changing the handler
#   ../../.venv/bin/python ../../tools/package.py consumer build/consumer.zip
#   terraform init && terraform apply

locals {
  consumer_zip_path = coalesce(var.consumer_zip_path, "${path.module}/build/consumer.zip")
}

resource "aws_dynamodb_table" "orders" {
  #checkov:skip=CKV_AWS_119:Example table; a customer managed key is the user's choice (pass it as stream_kms_key_arn).
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

  server_side_encryption {
    enabled = true
  }
}

module "fanout" {
  source = "../../"

  dynamodb_stream_arn = aws_dynamodb_table.orders.stream_arn
  table_name          = aws_dynamodb_table.orders.name
  name                = "${var.name}-fanout"
  event_bus_name      = "${var.name}-bus"
  archive             = { retention_days = 7 }

  rules = {
    all-changes = {
      description   = "Every change of an order, logged by the consumer function"
      event_pattern = jsonencode({ source = ["dynamodb.${var.name}"] })
      targets = {
        logger = {
          arn               = aws_lambda_function.consumer.arn
          type              = "lambda" # the ARN is only known after apply
          create_permission = true
          retry_policy      = { maximum_event_age_in_seconds = 3600, maximum_retry_attempts = 10 }
        }
      }
    }
    order-paid = {
      description = "Orders that became PAID, for billing"
      event_pattern = jsonencode({
        source        = ["dynamodb.${var.name}"]
        "detail-type" = ["MODIFY"]
        detail        = { newImage = { status = ["PAID"] }, oldImage = { status = [{ anything-but = "PAID" }] } }
      })
      targets = {
        billing = {
          arn               = aws_sqs_queue.billing.arn
          type              = "sqs"
          create_permission = true
          dead_letter_arn   = aws_sqs_queue.billing_dlq.arn
        }
      }
    }
  }

  tags = { example = "complete" }
}

# --- consumer 1: a function that logs what it receives -------------------------------

resource "aws_iam_role" "consumer" {
  name = "${var.name}-consumer"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_cloudwatch_log_group" "consumer" {
  #checkov:skip=CKV_AWS_338:Example logs, kept a week.
  #checkov:skip=CKV_AWS_158:Example logs; CloudWatch Logs default encryption.
  name              = "/aws/lambda/${var.name}-consumer"
  retention_in_days = 7
}

resource "aws_iam_role_policy" "consumer" {
  name = "logs"
  role = aws_iam_role.consumer.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = ["${aws_cloudwatch_log_group.consumer.arn}:*"]
    }]
  })
}

resource "aws_lambda_function" "consumer" {
  #checkov:skip=CKV_AWS_116:Invoked asynchronously by EventBridge, whose target retry policy and DLQ cover failures.
  #checkov:skip=CKV_AWS_117:Example function calls no network resource.
  #checkov:skip=CKV_AWS_272:Example function; code signing needs a signing profile.
  #checkov:skip=CKV_AWS_115:Example function; concurrency left unreserved.
  #checkov:skip=CKV_AWS_50:Example function; no X-Ray tracing.
  function_name    = "${var.name}-consumer"
  role             = aws_iam_role.consumer.arn
  handler          = "consumer.handler"
  runtime          = "python3.13"
  architectures    = ["arm64"]
  filename         = local.consumer_zip_path
  source_code_hash = filebase64sha256(local.consumer_zip_path)

  depends_on = [aws_cloudwatch_log_group.consumer, aws_iam_role_policy.consumer]
}

# --- consumer 2: a queue for paid orders ----------------------------------------------

resource "aws_sqs_queue" "billing" {
  name                    = "${var.name}-billing"
  sqs_managed_sse_enabled = true
}

resource "aws_sqs_queue" "billing_dlq" {
  name                      = "${var.name}-billing-dlq"
  sqs_managed_sse_enabled   = true
  message_retention_seconds = 1209600
}

# The rule's dead-letter queue must admit EventBridge too.
resource "aws_sqs_queue_policy" "billing_dlq" {
  queue_url = aws_sqs_queue.billing_dlq.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.billing_dlq.arn
      Condition = { ArnEquals = { "aws:SourceArn" = module.fanout.rule_arns["order-paid"] } }
    }]
  })
}
