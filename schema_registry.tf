# Optional EventBridge schema registry with the schema of the events this module publishes,
# so consumers can browse it and download code bindings (Java, Python, TypeScript, Go).
# The content is schemas/event.<detail_format>.json, shipped with the module; the registry
# takes OpenAPI 3 or JSON Schema draft-04, and the schema files are draft-04.

locals {
  schema_registry_name = coalesce(var.schema_registry_name, "${local.name}-events")
  # Schema names allow A-Z a-z 0-9 . _ - @; AWS's own convention is <source>@<DetailType>.
  event_schema_name = "${replace(local.event_source, "/[^A-Za-z0-9._@-]/", "-")}@DynamoDBStreamChange"
  event_schema_file = "${path.module}/schemas/event.${var.detail_format}.json"
}

resource "aws_schemas_registry" "this" {
  count = var.create_schema_registry ? 1 : 0

  name        = local.schema_registry_name
  description = "Events of the ${local.name} DynamoDB stream fan-out"
  tags        = var.tags
}

resource "aws_schemas_schema" "event" {
  count = var.create_schema_registry ? 1 : 0

  name          = local.event_schema_name
  registry_name = aws_schemas_registry.this[0].name
  type          = "JSONSchemaDraft4"
  description   = "A change of table ${local.table_name} as published on the bus (detail format ${var.detail_format})"
  content       = file(local.event_schema_file)
  tags          = var.tags
}
