output "table_name" {
  description = "The example table: write items to it to see events flow."
  value       = aws_dynamodb_table.orders.name
}

output "function_name" {
  description = "The fan-out function."
  value       = module.fanout.function_name
}

output "event_bus_name" {
  description = "The bus the changes are published to."
  value       = module.fanout.event_bus_name
}

output "dlq_url" {
  description = "Dead-letter queue of the fan-out: entries that could not be published."
  value       = module.fanout.dlq_url
}

output "consumer_log_group" {
  description = "Where the consumer function logs every change it receives."
  value       = aws_cloudwatch_log_group.consumer.name
}

output "billing_queue_url" {
  description = "The queue receiving orders that became PAID."
  value       = aws_sqs_queue.billing.url
}

output "rule_arns" {
  description = "The rules routing changes to the consumers."
  value       = module.fanout.rule_arns
}
