output "table_name" {
  description = "The table the workload writes to."
  value       = aws_dynamodb_table.orders.name
}

output "stream_arn" {
  description = "The table's stream, read by the local poller."
  value       = aws_dynamodb_table.orders.stream_arn
}

output "function_name" {
  description = "The fan-out function; its configuration (handler, environment, timeout) drives the local run."
  value       = module.fanout.function_name
}

output "dlq_url" {
  description = "Dead-letter queue of entries that could not be published."
  value       = module.fanout.dlq_url
}

output "event_bus_name" {
  description = "The bus the function publishes to."
  value       = module.fanout.event_bus_name
}

output "consumer_queue_urls" {
  description = "Consumer queue URL by consumer name."
  value       = { for k, q in aws_sqs_queue.consumer : k => q.url }
}

output "consumer_rules" {
  description = "Name of the rule that feeds each consumer."
  value       = local.consumer_rules
}

output "batch_size" {
  description = "Records per invocation, as the event source mapping would use."
  value       = var.batch_size
}

output "maximum_retry_attempts" {
  description = "Retries of a failing batch, as the event source mapping would use."
  value       = var.maximum_retry_attempts
}

output "large_event_bucket" {
  description = "Bucket holding the full events of claim-checked (oversize) items."
  value       = module.fanout.large_event_bucket
}
