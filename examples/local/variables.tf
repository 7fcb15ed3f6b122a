variable "endpoint" {
  description = "URL of the AWS-compatible endpoint every service is sent to: a local moto_server (`make demo` starts one on a free port and passes its URL)."
  type        = string
  default     = "http://127.0.0.1:5000"

  validation {
    condition     = can(regex("^https?://", var.endpoint))
    error_message = "The endpoint must be an http:// or https:// URL."
  }
}

variable "region" {
  description = "Region the resources are created in. moto stamps stream records with us-east-1, so keep that for local runs."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Base name of the table, the consumer queues and the fan-out."
  type        = string
  default     = "orders-local"
}

variable "batch_size" {
  description = "Stream records per handler invocation (the event source mapping's batch size; the local poller uses it)."
  type        = number
  default     = 100
}

variable "maximum_retry_attempts" {
  description = "How often a failing batch is retried before its records are given up (the mapping's setting; the local poller uses it)."
  type        = number
  default     = 10
}

variable "max_event_bytes" {
  description = "PutEvents size budget handed to the handler. 262144 (the limit before 2026 and still in some regions) puts the demo's 300 KB item above it, so it is claim-checked (stored in S3, published as a pointer event)."
  type        = number
  default     = 262144
}
