output "function_name" {
  description = "The fan-out function."
  value       = module.fanout.function_name
}

output "event_bus_arn" {
  description = "The new custom event bus the function publishes to, in per-item order."
  value       = module.fanout.event_bus_arn
}

output "event_source" {
  description = "Source of the published events (also the events:source condition on PutEvents)."
  value       = module.fanout.event_source
}

output "dlq_url" {
  description = "Dead-letter queue of the fan-out."
  value       = module.fanout.dlq_url
}
