# The bus the function publishes to: created here, or an existing one by name or ARN.

data "aws_caller_identity" "current" {}

locals {
  event_bus_given_as_arn = startswith(var.event_bus_name, "arn:")
  # The bus name, also when an ARN was given (event-bus/<name>).
  event_bus_name = local.event_bus_given_as_arn ? split("event-bus/", var.event_bus_name)[1] : var.event_bus_name

  # An existing bus named without ARN lives in the function's account and region
  # (the region of the stream: a mapping only reads streams of its own region).
  event_bus_arn = (
    var.create_event_bus ? aws_cloudwatch_event_bus.this[0].arn :
    local.event_bus_given_as_arn ? var.event_bus_name :
    "arn:${local.partition}:events:${local.region}:${data.aws_caller_identity.current.account_id}:event-bus/${var.event_bus_name}"
  )

  # PutEvents takes a name or an ARN; a bus in another account needs the ARN.
  event_bus_name_for_handler = var.create_event_bus ? aws_cloudwatch_event_bus.this[0].name : var.event_bus_name

  # Rules live on the bus; rules and targets take a name or an ARN.
  event_bus_for_rules = var.create_event_bus ? aws_cloudwatch_event_bus.this[0].name : var.event_bus_name
}

resource "aws_cloudwatch_event_bus" "this" {
  count = var.create_event_bus ? 1 : 0

  name = var.event_bus_name
  tags = var.tags

  lifecycle {
    precondition {
      condition     = !local.event_bus_given_as_arn && var.event_bus_name != "default" && !startswith(var.event_bus_name, "aws.") && !strcontains(var.event_bus_name, "/")
      error_message = "With create_event_bus = true, event_bus_name must be a plain bus name (no ARN, no \"/\", not \"default\", not starting with \"aws.\"). To use an existing bus set create_event_bus = false."
    }
  }
}

resource "aws_cloudwatch_event_archive" "this" {
  count = var.archive == null ? 0 : 1

  # Archive names allow at most 48 characters.
  name             = substr("${local.name}-archive", 0, 48)
  description      = var.archive.description
  event_source_arn = local.event_bus_arn
  retention_days   = var.archive.retention_days
  # Only what this function publishes, not everything else on a shared bus.
  event_pattern = jsonencode({ source = [local.event_source] })
}
