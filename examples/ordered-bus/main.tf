# The fan-out publishing to an existing new custom event bus (event-busv2): every
# change of an item reaches its subscribers once and in order. The bus and its
# subscribers are created outside Terraform (see README.md); the module creates no bus,
# no rules and no archive, and grants PutEvents on that one bus only.

resource "aws_dynamodb_table" "orders" {
  #checkov:skip=CKV_AWS_119:Example table; a customer managed key is the user's choice (pass it as stream_kms_key_arn).
  name             = var.name
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "pk"
  range_key        = "sk"
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
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

  dynamodb_stream_arn   = aws_dynamodb_table.orders.stream_arn
  table_name            = aws_dynamodb_table.orders.name
  create_event_bus      = false
  ordered_event_bus_arn = var.ordered_event_bus_arn

  tags = { example = "ordered-bus" }
}
