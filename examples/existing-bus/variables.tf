variable "region" {
  description = "AWS region to deploy the example to."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name of the example's table; the fan-out is named after it."
  type        = string
  default     = "orders-existing-bus"
}

variable "event_bus_name" {
  description = "An existing bus: its name (in this account and region) or its ARN (any account whose bus policy admits this account). The account's default bus always exists."
  type        = string
  default     = "default"
}
