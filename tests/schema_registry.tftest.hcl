# The optional schema registry: off by default; on, it holds the shipped schema of the
# chosen detail format as JSONSchemaDraft4.

mock_provider "aws" {
  source = "./tests/mocks"
}

override_resource {
  target = aws_sqs_queue.dlq
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:orders-fanout-dlq"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-fanout-dlq"
  }
}

override_resource {
  target = aws_sqs_queue.on_failure
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:orders-fanout-on-failure"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-fanout-on-failure"
  }
}

override_resource {
  target = aws_schemas_schema.event
  values = {
    arn = "arn:aws:schemas:eu-west-1:123456789012:schema/orders-fanout-events/dynamodb.orders@DynamoDBStreamChange"
  }
}

variables {
  dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2024-05-01T00:00:00.000"
}

run "registry_is_off_by_default" {
  command = plan

  assert {
    condition     = length(aws_schemas_registry.this) == 0 && length(aws_schemas_schema.event) == 0
    error_message = "No registry or schema unless create_schema_registry is true."
  }
  assert {
    condition     = output.schema_registry_name == null && output.event_schema_name == null
    error_message = "Registry outputs must be null when it is off."
  }
}

run "registry_holds_the_plain_schema" {
  variables {
    create_schema_registry = true
  }

  assert {
    condition     = aws_schemas_registry.this[0].name == "orders-fanout-events" && output.schema_registry_name == "orders-fanout-events"
    error_message = "The registry name must default to <name>-events."
  }
  assert {
    condition     = aws_schemas_schema.event[0].registry_name == "orders-fanout-events"
    error_message = "The schema must be in the module's registry."
  }
  assert {
    condition     = aws_schemas_schema.event[0].type == "JSONSchemaDraft4"
    error_message = "The schema files are draft-04: the registry type must be JSONSchemaDraft4."
  }
  assert {
    condition     = aws_schemas_schema.event[0].name == "dynamodb.orders@DynamoDBStreamChange" && output.event_schema_name == "dynamodb.orders@DynamoDBStreamChange"
    error_message = "The schema name must be <source>@DynamoDBStreamChange, got ${aws_schemas_schema.event[0].name}."
  }
  assert {
    condition     = aws_schemas_schema.event[0].content == file("schemas/event.plain.json")
    error_message = "The schema content must be the shipped schemas/event.plain.json."
  }
  assert {
    condition     = jsondecode(aws_schemas_schema.event[0].content)["$schema"] == "http://json-schema.org/draft-04/schema#"
    error_message = "The content must declare draft-04."
  }
  assert {
    condition     = output.event_schema_arn == "arn:aws:schemas:eu-west-1:123456789012:schema/orders-fanout-events/dynamodb.orders@DynamoDBStreamChange"
    error_message = "event_schema_arn must be the schema's ARN."
  }
}

run "registry_follows_the_detail_format_and_names" {
  variables {
    create_schema_registry = true
    schema_registry_name   = "shared.events"
    detail_format          = "raw"
    event_source           = "com.example/orders"
  }

  assert {
    condition     = aws_schemas_schema.event[0].content == file("schemas/event.raw.json")
    error_message = "detail_format = raw must register schemas/event.raw.json."
  }
  assert {
    condition     = aws_schemas_registry.this[0].name == "shared.events"
    error_message = "schema_registry_name must name the registry."
  }
  assert {
    condition     = aws_schemas_schema.event[0].name == "com.example-orders@DynamoDBStreamChange"
    error_message = "Characters a schema name does not allow must be replaced, got ${aws_schemas_schema.event[0].name}."
  }
}

run "registry_both_format" {
  command = plan
  variables {
    create_schema_registry = true
    detail_format          = "both"
  }

  assert {
    condition     = aws_schemas_schema.event[0].content == file("schemas/event.both.json")
    error_message = "detail_format = both must register schemas/event.both.json."
  }
}

run "registry_name_is_validated" {
  command = plan
  variables {
    create_schema_registry = true
    schema_registry_name   = "no spaces allowed"
  }
  expect_failures = [var.schema_registry_name]
}
