# The bus the function publishes to: created here, or an existing one by name or ARN.

locals {
  # Default: one bus per module instance, named after it, so two tables never collide.
  # Many tables on one bus: create it in one instance and pass its name to the others
  # with create_event_bus = false (examples/many-tables).
  event_bus_input        = var.event_bus_name != null ? var.event_bus_name : "${local.name}-bus"
  event_bus_given_as_arn = startswith(local.event_bus_input, "arn:")
  # The bus name, also when an ARN was given (event-bus/<name>).
  event_bus_name = local.event_bus_given_as_arn ? split("event-bus/", local.event_bus_input)[1] : local.event_bus_input

  # A bus given by ARN may live in another account (or region); one given by name lives
  # in the provider's account and region.
  event_bus_account    = local.event_bus_given_as_arn ? split(":", local.event_bus_input)[4] : local.account_id
  event_bus_region     = local.event_bus_given_as_arn ? split(":", local.event_bus_input)[3] : local.region
  event_bus_is_foreign = local.event_bus_account != local.account_id || local.event_bus_region != local.region
  # What differs, for the messages: the account, the region, or both.
  event_bus_elsewhere = join(" and ", compact([
    local.event_bus_account != local.account_id ? "another account (${local.event_bus_account}; this is ${local.account_id})" : "",
    local.event_bus_region != local.region ? "another region (${local.event_bus_region}; this is ${local.region})" : "",
  ]))

  event_bus_arn = (
    var.create_event_bus ? aws_cloudwatch_event_bus.this[0].arn :
    local.event_bus_given_as_arn ? local.event_bus_input :
    "arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/${local.event_bus_input}"
  )

  # PutEvents takes a name or an ARN; a bus in another account needs the ARN.
  event_bus_name_for_handler = var.create_event_bus ? aws_cloudwatch_event_bus.this[0].name : local.event_bus_input

  # Rules live on the bus; rules and targets take a name or an ARN.
  event_bus_for_rules = var.create_event_bus ? aws_cloudwatch_event_bus.this[0].name : local.event_bus_input
}

resource "aws_cloudwatch_event_bus" "this" {
  count = var.create_event_bus ? 1 : 0

  name               = local.event_bus_input
  kms_key_identifier = var.event_bus_kms_key_arn
  tags               = var.tags

  lifecycle {
    precondition {
      condition     = !local.event_bus_given_as_arn && local.event_bus_input != "default" && !startswith(local.event_bus_input, "aws.") && !strcontains(local.event_bus_input, "/")
      error_message = "With create_event_bus = true, event_bus_name must be a plain bus name (no ARN, no \"/\", not \"default\", not starting with \"aws.\"). To use an existing bus set create_event_bus = false."
    }
  }
}

resource "aws_cloudwatch_event_archive" "this" {
  count = var.archive == null ? 0 : 1

  # Archive names allow at most 48 characters; a shortened name keeps a hash of the whole.
  # A given name keeps an archive named otherwise (0.1.0 cut "<name>-archive" to 48).
  name = (
    var.archive.name != null ? var.archive.name :
    length("${local.name}-archive") <= 48 ? "${local.name}-archive" :
    "${substr(local.name, 0, 30)}-${substr(sha1(local.name), 0, 8)}-archive"
  )
  description      = var.archive.description
  event_source_arn = local.event_bus_arn
  retention_days   = var.archive.retention_days
  # Only what this function publishes, not everything else on a shared bus.
  event_pattern = jsonencode({ source = [local.event_source] })

  lifecycle {
    precondition {
      condition     = !local.event_bus_is_foreign
      error_message = "An archive is created in the bus's account and region, and ${local.event_bus_input} is in ${local.event_bus_elsewhere}. Leave archive null and create the archive there."
    }
  }
}
