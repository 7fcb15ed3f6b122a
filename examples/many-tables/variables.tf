variable "region" {
  description = "AWS region to deploy the example to."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Prefix of the tables and consumers; each table is <name>-<table>."
  type        = string
  default     = "shop"
}

variable "tables" {
  description = "The tables, each fanned out by its own function onto the one bus. Must include orders, whose fan-out owns the bus."
  type        = list(string)
  default     = ["orders", "payments"]

  validation {
    condition     = contains(var.tables, "orders")
    error_message = "The tables must include orders: its fan-out creates the bus."
  }
}

variable "stream_view_type" {
  description = "What the streams carry. Changing it gives each stream a new label; only the event source mappings follow it."
  type        = string
  default     = "NEW_AND_OLD_IMAGES"
}
