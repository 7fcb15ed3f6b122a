# Ordered, de-duplicated delivery to an existing new custom event bus (event-busv2).
#
# The hashicorp/aws provider has no resource for these buses yet: the bus and its
# subscribers are created outside Terraform (docs/ordered-bus.md) and passed in by ARN.
# Subscribers replace rules and targets, and the bus keeps events itself (retention and
# replay), so the module's rules and archive do not apply to it and are refused at plan.

locals {
  ordered_bus = var.ordered_event_bus_arn != null

  # What the function is told to publish to; an event-busv2 ARN selects the ordered path.
  event_bus_for_handler = local.ordered_bus ? var.ordered_event_bus_arn : local.event_bus_name_for_handler

  # <name> of arn:…:event-busv2/<name>/<id>.
  ordered_bus_name = local.ordered_bus ? split("/", var.ordered_event_bus_arn)[1] : null

  # How many event groups the items are hashed into: the handler's EVENT_GROUPS, only where
  # it means something.
  ordered_bus_environment = local.ordered_bus ? { EVENT_GROUPS = tostring(var.event_groups) } : {}
}

resource "terraform_data" "ordered_event_bus" {
  count = local.ordered_bus ? 1 : 0

  input = var.ordered_event_bus_arn

  lifecycle {
    precondition {
      condition     = !var.create_event_bus
      error_message = "With ordered_event_bus_arn set, set create_event_bus = false: the new custom event bus is created outside Terraform (aws eventbridgev2 create-event-bus), and the module creates no classic bus beside it."
    }
    precondition {
      condition     = var.event_bus_name == null
      error_message = "Set either ordered_event_bus_arn (a new custom event bus) or event_bus_name (a classic bus), not both."
    }
    precondition {
      condition     = length(var.rules) == 0
      error_message = "Rules and targets do not exist on a new custom event bus (${var.ordered_event_bus_arn}): its subscribers are managed with the bus (aws eventbridgev2 create-subscriber). Leave rules empty."
    }
    precondition {
      condition     = var.archive == null
      error_message = "A new custom event bus keeps its events itself (retention, replay from a starting position): an archive does not apply to ${var.ordered_event_bus_arn}. Leave archive null and set the bus's retention instead."
    }
  }
}
