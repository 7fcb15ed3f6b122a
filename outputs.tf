output "function_name" {
  description = "Name of the fan-out Lambda function."
  value       = try(aws_lambda_function.this.function_name, null)
}

output "function_arn" {
  description = "ARN of the fan-out Lambda function."
  value       = try(aws_lambda_function.this.arn, null)
}

output "role_arn" {
  description = "ARN of the function's execution role (created here, or role_arn)."
  value       = local.role_arn
}

output "role_name" {
  description = "Name of the created execution role; null with create_role = false."
  value       = try(aws_iam_role.this[0].name, null)
}

output "role_policy_json" {
  description = "The execution role's least-privilege policy document: attach it to your own role when create_role = false."
  value       = local.policy_json
}

output "dlq_url" {
  description = "URL of the dead-letter queue holding entries that could not be published."
  value       = try(aws_sqs_queue.dlq.url, null)
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = try(aws_sqs_queue.dlq.arn, null)
}

output "dlq_name" {
  description = "Name of the dead-letter queue."
  value       = try(aws_sqs_queue.dlq.name, null)
}

output "event_bus_name" {
  description = "Name of the bus the function publishes to (created here or existing)."
  value       = try(local.ordered_bus ? local.ordered_bus_name : var.create_event_bus ? aws_cloudwatch_event_bus.this[0].name : local.event_bus_name, null)
}

output "event_bus_arn" {
  description = "ARN of the bus the function publishes to."
  value       = try(local.ordered_bus ? var.ordered_event_bus_arn : local.event_bus_arn, null)
}

output "event_source" {
  description = "Source of every entry the function publishes: match it in rule patterns."
  value       = local.event_source
}

output "event_source_mapping_uuid" {
  description = "UUID of the stream's event source mapping; null when create_event_source_mapping = false."
  value       = try(aws_lambda_event_source_mapping.this[0].uuid, null)
}

output "on_failure_queue_url" {
  description = "URL of the module's on-failure queue (failed batches' metadata); null when not created."
  value       = try(aws_sqs_queue.on_failure[0].url, null)
}

output "on_failure_queue_name" {
  description = "Name of the module's on-failure queue; null when not created."
  value       = try(aws_sqs_queue.on_failure[0].name, null)
}

output "event_source_mapping_arn" {
  description = "ARN of the stream's event source mapping; null when create_event_source_mapping = false."
  value       = try(aws_lambda_event_source_mapping.this[0].arn, null)
}

output "event_source_mapping_state" {
  description = "State of the event source mapping as last read (Enabled, Disabled, Creating, ...); null without a mapping."
  value       = try(aws_lambda_event_source_mapping.this[0].state, null)
}

output "on_failure_destination_arn" {
  description = "ARN of the queue, topic or bucket receiving the batches Lambda gave up on; null without an event source mapping or destination."
  value       = try(local.on_failure_destination_arn, null)
}

output "on_failure_bucket" {
  description = "Name of the module's on-failure bucket (whole failed batches, under aws/lambda/<mapping UUID>/); null when not created."
  value       = try(module.on_failure_bucket[0].name, null)
}

output "rule_arns" {
  description = "ARNs of the rules on the bus, by rules key."
  value       = { for k, r in aws_cloudwatch_event_rule.this : k => r.arn }
}

output "rule_names" {
  description = "Names of the rules on the bus, by rules key."
  value       = { for k, r in aws_cloudwatch_event_rule.this : k => r.name }
}

output "log_group_name" {
  description = "Name of the function's CloudWatch log group."
  value       = try(aws_cloudwatch_log_group.this.name, null)
}

output "archive_arn" {
  description = "ARN of the event archive; null when archive is not set."
  value       = try(aws_cloudwatch_event_archive.this[0].arn, null)
}

output "schema_registry_name" {
  description = "Name of the schema registry holding the event schema; null unless create_schema_registry."
  value       = try(aws_schemas_registry.this[0].name, null)
}

output "event_schema_name" {
  description = "Name of the event schema in the registry (for code bindings); null unless create_schema_registry."
  value       = try(aws_schemas_schema.event[0].name, null)
}

output "event_schema_arn" {
  description = "ARN of the event schema in the registry; null unless create_schema_registry."
  value       = try(aws_schemas_schema.event[0].arn, null)
}

output "large_event_bucket" {
  description = "Bucket holding claim-checked events (created or given); null when claim-check is off."
  value       = local.large_event_bucket
}

output "large_event_writer_policy_json" {
  description = "The function's claim-check policy (s3:PutObject on <prefix><table>/ only, in a bucket of the expected owner): the module attaches it to its role; attach it to yours when create_role = false. Null when claim-check is off."
  value       = local.claim_check_enabled ? local.large_event_writer_policy_json : null
}

output "large_event_reader_policy_json" {
  description = "IAM policy document for consumers of claim-checked events: s3:GetObject on this table's objects (<prefix><table>/), in a bucket of the expected owner (plus kms:Decrypt with a customer key). Null when claim-check is off."
  value       = local.claim_check_enabled ? local.large_event_reader_policy_json : null
}
