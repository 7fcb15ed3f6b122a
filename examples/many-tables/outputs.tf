output "event_bus_name" {
  description = "The one bus every table publishes to."
  value       = module.orders.event_bus_name
}

output "function_names" {
  description = "The fan-out function of each table."
  value       = merge({ orders = module.orders.function_name }, { for k, m in module.others : k => m.function_name })
}

output "dlq_urls" {
  description = "The dead-letter queue of each table's fan-out."
  value       = merge({ orders = module.orders.dlq_url }, { for k, m in module.others : k => m.dlq_url })
}

output "on_failure_queue_url" {
  description = "The on-failure queue all mappings share."
  value       = module.orders.on_failure_queue_url
}

output "billing_queue_url" {
  description = "The queue fed by two rules (paid orders, settled payments)."
  value       = aws_sqs_queue.billing.url
}

output "rule_names" {
  description = "The rules on the bus."
  value       = module.orders.rule_names
}
