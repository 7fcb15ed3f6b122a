# The fan-out publishing to a bus created elsewhere (another stack, another team,
# another account): the module creates no bus and grants PutEvents on that bus only.

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
  create_event_bus    = false
  event_bus_name      = var.event_bus_name

  # Rules on a shared bus see everyone's events: match this table's source.
  rules = {
    inserts = {
      description   = "New orders"
      event_pattern = jsonencode({ source = ["dynamodb.${var.name}"], "detail-type" = ["INSERT"] })
    }
  }

  tags = { example = "existing-bus" }
}
