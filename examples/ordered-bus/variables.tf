variable "region" {
  description = "AWS region to deploy the example to (the bus may be in another one: its ARN says where)."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name of the example's table; the fan-out is named after it."
  type        = string
  default     = "orders-ordered-bus"
}

variable "ordered_event_bus_arn" {
  description = "EventBusArn of the new custom event bus, as aws eventbridgev2 create-event-bus returned it (arn:aws:events:<region>:<account>:event-busv2/<name>/<id>)."
  type        = string
}
