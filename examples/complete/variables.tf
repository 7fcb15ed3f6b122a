variable "region" {
  description = "AWS region to deploy the example to."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name of the example's table; the other resources are named after it."
  type        = string
  default     = "orders-complete"
}

variable "consumer_zip_path" {
  description = "Zip of the consumer function (built from ./consumer with tools/package.py). Null: build/consumer.zip next to this file."
  type        = string
  default     = null
}
