# Many tables, one bus: every table gets its own fan-out function (a stream feeds at most
# two readers), and all of them publish to one bus, so consumers subscribe in one place.
# The first instance creates the bus and holds the rules; the others publish to it.

resource "aws_dynamodb_table" "this" {
  #checkov:skip=CKV_AWS_119:Example tables; a customer managed key is the user's choice (pass it as stream_kms_key_arn).
  for_each = toset(var.tables)

  name             = "${var.name}-${each.key}"
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "pk"
  stream_enabled   = true
  stream_view_type = var.stream_view_type

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

# The first table's fan-out owns the bus (named after the module: <name>-bus), its
# on-failure queue and every rule on the bus.
module "orders" {
  source = "../../"

  dynamodb_stream_arn = aws_dynamodb_table.this["orders"].stream_arn
  table_name          = aws_dynamodb_table.this["orders"].name # known at plan: names never depend on the stream

  rules = {
    # Two rules deliver to one queue: the module writes one queue policy with a
    # statement per rule, because both targets use the same key (`billing`).
    order-paid = {
      description   = "Orders that became PAID"
      event_pattern = jsonencode({ source = ["dynamodb.${var.name}-orders"], "detail-type" = ["MODIFY"], detail = { newImage = { status = ["PAID"] } } })
      targets       = { billing = { arn = aws_sqs_queue.billing.arn, type = "sqs", create_permission = true } }
    }
    payment-settled = {
      description   = "Payments that were settled"
      event_pattern = jsonencode({ source = ["dynamodb.${var.name}-payments"], detail = { newImage = { state = ["SETTLED"] } } })
      targets       = { billing = { arn = aws_sqs_queue.billing.arn, type = "sqs", create_permission = true } }
    }
    # One rule for the changes of every table on the bus.
    audit = {
      description   = "Every change of every table"
      event_pattern = jsonencode({ source = [for t in var.tables : "dynamodb.${var.name}-${t}"] })
      targets       = { audit = { arn = aws_sns_topic.audit.arn, type = "sns", create_permission = true } }
    }
  }

  # The others send their failed batches to this instance's on-failure queue: its policy
  # lets only the roles it names send.
  on_failure_queue_additional_sender_arns = [for m in module.others : m.role_arn]

  tags = { example = "many-tables" }
}

# The other tables publish to that bus and share its on-failure queue.
module "others" {
  source   = "../../"
  for_each = toset([for t in var.tables : t if t != "orders"])

  dynamodb_stream_arn        = aws_dynamodb_table.this[each.key].stream_arn
  table_name                 = aws_dynamodb_table.this[each.key].name
  create_event_bus           = false
  event_bus_name             = module.orders.event_bus_name
  create_on_failure_queue    = false
  on_failure_destination_arn = module.orders.on_failure_destination_arn

  tags = { example = "many-tables" }
}

resource "aws_sqs_queue" "billing" {
  name                    = "${var.name}-billing"
  sqs_managed_sse_enabled = true
}

resource "aws_sns_topic" "audit" {
  name              = "${var.name}-audit"
  kms_master_key_id = "alias/aws/sns"
}
