# ---------------------------------------------------------------------------
# Source stream
# ---------------------------------------------------------------------------

variable "dynamodb_stream_arn" {
  description = "ARN of the DynamoDB stream to fan out (aws_dynamodb_table.<t>.stream_arn). The table needs a stream enabled; NEW_AND_OLD_IMAGES gives consumers the most to work with."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[a-zA-Z0-9_.-]{3,255}/stream/[^/]+$", var.dynamodb_stream_arn))
    error_message = "The dynamodb_stream_arn must be a DynamoDB stream ARN: arn:<partition>:dynamodb:<region>:<12-digit account>:table/<table name>/stream/<label>."
  }
}

variable "table_name" {
  description = "Name of the stream's table (aws_dynamodb_table.<t>.name). Known at plan even when the table is created in the same root, so names derive from it and a new stream (another view type) renames and replaces nothing. Null: parsed from dynamodb_stream_arn, which is unknown at plan for a table created alongside. Must be the stream's table (checked when both are known)."
  type        = string
  default     = null

  validation {
    condition     = var.table_name == null || can(regex("^[a-zA-Z0-9_.-]{3,255}$", var.table_name))
    error_message = "The table_name must be a DynamoDB table name: 3-255 characters of letters, digits, '_', '-' and '.'."
  }
}

variable "name" {
  description = "Base name of everything the module creates (Lambda function, log group, queues, rules, alarms; the role adds the region). Null derives it from table_name (else the stream ARN): <table>-fanout; a table name with a '.' or over 43 characters gives <table, cut to 34, . as ->-<8 hex of a hash of the table name>-fanout, so two tables never share a name."
  type        = string
  default     = null

  validation {
    condition     = var.name == null || can(regex("^[a-zA-Z0-9_-]{1,50}$", var.name))
    error_message = "The name must be 1-50 characters of letters, digits, hyphens and underscores (a Lambda function name, leaving room for the suffixes of the queues and rules)."
  }
}

variable "tags" {
  description = "Tags added to every resource that takes tags. Keys starting with \"aws:\" are reserved for AWS and refused."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for k in keys(var.tags) : !startswith(lower(k), "aws:")])
    error_message = "Tag keys must not start with \"aws:\" (reserved for AWS; every create would fail). Not one in: ${join(", ", [for k in keys(var.tags) : k if startswith(lower(k), "aws:")])}."
  }
}

# ---------------------------------------------------------------------------
# Event bus
# ---------------------------------------------------------------------------

variable "event_bus_name" {
  description = "Name of the EventBridge bus to publish to. Null: <name>-bus, one bus per module instance. With create_event_bus = false it may also be the ARN of an existing bus (needed for a bus in another account); many tables share a bus by passing one instance's event_bus_name to the others."
  type        = string
  default     = null

  validation {
    condition = var.event_bus_name == null || (
      can(regex("^[/.\\-_A-Za-z0-9]{1,256}$", var.event_bus_name)) ||
      can(regex("^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[/.\\-_A-Za-z0-9]{1,256}$", var.event_bus_name))
    )
    error_message = "The event_bus_name must be a bus name (1-256 of A-Z a-z 0-9 . - _ /) or an event bus ARN arn:<partition>:events:<region>:<account>:event-bus/<name>."
  }
}

variable "create_event_bus" {
  description = "Create the bus named event_bus_name. Set false to publish to an existing bus given by name or ARN."
  type        = bool
  default     = true
  nullable    = false
}

variable "event_bus_kms_key_arn" {
  description = "ARN of a customer managed KMS key that encrypts the bus's events: set as the created bus's kms_key_identifier, and the role gets kms:GenerateDataKey on it through EventBridge for this bus only. With create_event_bus = false, the key of the existing bus. Its key policy must allow events.amazonaws.com. Null: an AWS owned key."
  type        = string
  default     = null

  validation {
    condition     = var.event_bus_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.event_bus_kms_key_arn))
    error_message = "The event_bus_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>); IAM cannot grant on an alias."
  }
}

variable "archive" {
  description = "Optional archive of the events published by this function (they can be replayed later). retention_days = 0 keeps them forever. name: the archive's name, null: <name>-archive (past 48 characters, its first 30 with a hash of the whole); set it to keep an existing archive of another name, e.g. one created by 0.1.0 (CHANGELOG.md, Migration). Null: no archive."
  type = object({
    name           = optional(string)
    retention_days = optional(number, 30)
    description    = optional(string, "Changes published by the DynamoDB stream fan-out")
  })
  default = null

  validation {
    condition     = var.archive == null || try(var.archive.retention_days >= 0 && floor(var.archive.retention_days) == var.archive.retention_days, false)
    error_message = "The archive.retention_days must be a whole number of days >= 0 (0 keeps events indefinitely)."
  }

  validation {
    condition     = try(var.archive.name == null, true) || can(regex("^[.\\-_A-Za-z0-9]{1,48}$", var.archive.name))
    error_message = "The archive.name must be 1-48 characters of A-Z a-z 0-9 . - _ (EventBridge's archive names)."
  }
}

# ---------------------------------------------------------------------------
# What the handler publishes
# ---------------------------------------------------------------------------

variable "event_source" {
  description = "The Source of every published entry (also the events:source IAM condition). Null: dynamodb.<table name>."
  type        = string
  default     = null

  validation {
    condition     = var.event_source == null || try(length(var.event_source) >= 1 && length(var.event_source) <= 256 && !startswith(var.event_source, "aws."), false)
    error_message = "The event_source must be 1-256 characters and must not start with \"aws.\" (reserved for AWS services)."
  }
}

variable "detail_format" {
  description = "Shape of each entry's Detail: plain (unmarshalled JSON images), raw (DynamoDB JSON under \"dynamodb\") or both."
  type        = string
  default     = "plain"
  nullable    = false

  validation {
    condition     = contains(["plain", "raw", "both"], var.detail_format)
    error_message = "The detail_format must be one of: plain, raw, both."
  }
}

variable "max_attempts" {
  description = "PutEvents attempts per entry (retrying only throttling/internal errors) before the entry goes to the dead-letter queue. The original app's EventBridgeMaxAttempt."
  type        = number
  default     = 3
  nullable    = false

  validation {
    condition     = var.max_attempts >= 1 && var.max_attempts <= 10 && floor(var.max_attempts) == var.max_attempts
    error_message = "The max_attempts must be a whole number from 1 to 10."
  }
}

variable "max_event_bytes" {
  description = "PutEvents request size budget in bytes, computed with AWS's formula. 1048576 is EventBridge's limit since 2026-01; lower it to 262144 in regions still at 256 KB."
  type        = number
  default     = 1048576
  nullable    = false

  validation {
    condition     = var.max_event_bytes >= 1 && var.max_event_bytes <= 1048576 && floor(var.max_event_bytes) == var.max_event_bytes
    error_message = "The max_event_bytes must be a whole number from 1 to 1048576."
  }
}

variable "publish_concurrency" {
  description = "How many PutEvents requests the handler sends in parallel (a small thread pool; the calls mostly wait on the network). Null: min(ceil(batch_size / 10), 32), so a whole batch publishes in one round."
  type        = number
  default     = null

  validation {
    condition     = var.publish_concurrency == null || try(var.publish_concurrency >= 1 && var.publish_concurrency <= 64 && floor(var.publish_concurrency) == var.publish_concurrency, false)
    error_message = "The publish_concurrency must be a whole number from 1 to 64."
  }
}

# ---------------------------------------------------------------------------
# Lambda function
# ---------------------------------------------------------------------------

variable "lambda_zip_path" {
  description = "Path of the deployment zip. Null: dist/fanout.zip inside the module (built by `make package`)."
  type        = string
  default     = null
}

variable "runtime" {
  description = "Lambda runtime (Python 3.11 or newer)."
  type        = string
  default     = "python3.13"
  nullable    = false

  validation {
    condition     = can(regex("^python3\\.(1[1-9]|[2-9][0-9])$", var.runtime))
    error_message = "The runtime must be a Python runtime python3.11 or newer, e.g. python3.13."
  }
}

variable "architecture" {
  description = "Instruction set of the function: arm64 (cheaper) or x86_64."
  type        = string
  default     = "arm64"
  nullable    = false

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "The architecture must be arm64 or x86_64."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB. Lambda gives CPU in proportion, and the fan-out is bound by CPU: the default, 1,769 MB, is one whole vCPU, the most one Python interpreter can keep busy; there one invocation of full batches publishes well over 2,000 records/s (twice what a DynamoDB partition can write), and a change costs about the same at any size, because more CPU makes it that much shorter (BENCHMARKS.md). A quiet table (one change per invocation) pays for the time of its small invocations: see docs/module.md, What it costs."
  type        = number
  default     = 1769
  nullable    = false

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "The memory_size must be a whole number of MB from 128 to 10240."
  }
}

variable "timeout" {
  description = "Function timeout in seconds. Leave room for max_attempts rounds of PutEvents with backoff plus the dead-letter sends."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "The timeout must be a whole number of seconds from 1 to 900."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency of the function. Null: unreserved. A stream needs at most (shards x parallelization_factor) concurrent executions."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null || try(var.reserved_concurrent_executions >= 0 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions, false)
    error_message = "The reserved_concurrent_executions must be null or a whole number >= 0 (0 stops all invocations)."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of the handler."
  type        = string
  default     = "INFO"
  nullable    = false

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "The log_level must be one of: DEBUG, INFO, WARNING, ERROR."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing mode of the function: Active or PassThrough. Active also grants xray:PutTraceSegments/PutTelemetryRecords."
  type        = string
  default     = "PassThrough"
  nullable    = false

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "The tracing_mode must be Active or PassThrough."
  }
}

variable "lambda_kms_key_arn" {
  description = "ARN of a customer managed KMS key that encrypts the function's environment variables. Null: the AWS managed key."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.lambda_kms_key_arn))
    error_message = "The lambda_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), not an alias."
  }
}

variable "log_retention_in_days" {
  description = "Retention of the function's log group /aws/lambda/<name> in days (0: never expire)."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "The log_retention_in_days must be a CloudWatch Logs value: 0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "log_kms_key_arn" {
  description = "ARN of a KMS key that encrypts the log group. Its key policy must allow the CloudWatch Logs service principal. Null: CloudWatch Logs default encryption."
  type        = string
  default     = null

  validation {
    condition     = var.log_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.log_kms_key_arn))
    error_message = "The log_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

variable "stream_kms_key_arn" {
  description = "ARN of the customer managed KMS key of the table, when it has one; the role gets kms:Decrypt on it to read the stream. Null: the table uses an AWS owned or AWS managed key."
  type        = string
  default     = null

  validation {
    condition     = var.stream_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.stream_kms_key_arn))
    error_message = "The stream_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

# ---------------------------------------------------------------------------
# Execution role
# ---------------------------------------------------------------------------

variable "create_role" {
  description = "Create the function's execution role with the module's least-privilege policy. False: use role_arn and attach the role_policy_json output to that role yourself."
  type        = bool
  default     = true
  nullable    = false
}

variable "role_arn" {
  description = "ARN of an existing execution role, used when create_role = false."
  type        = string
  default     = null

  validation {
    condition     = var.role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.role_arn))
    error_message = "The role_arn must be an IAM role ARN (arn:<partition>:iam::<account>:role/<path/name>)."
  }
}

variable "role_name" {
  description = "Name of the created role. Null: <name>-<region> (role names are global to the account, so the same table in two regions gets two roles), with a hash when it has capitals (IAM ignores case) or is over 64 characters."
  type        = string
  default     = null

  validation {
    condition     = var.role_name == null || can(regex("^[a-zA-Z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "The role_name must be 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "role_path" {
  description = "Path of the created role, e.g. /service-roles/. Null: /."
  type        = string
  default     = null

  validation {
    condition     = var.role_path == null || can(regex("^/([!-~]{0,510}/)?$", coalesce(var.role_path, "/")))
    error_message = "The role_path must start and end with / (e.g. /service-roles/)."
  }
}

variable "role_permissions_boundary" {
  description = "ARN of the managed policy set as the created role's permissions boundary (often required by an organisation's SCPs). Null: none."
  type        = string
  default     = null

  validation {
    condition     = var.role_permissions_boundary == null || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", var.role_permissions_boundary))
    error_message = "The role_permissions_boundary must be an IAM policy ARN (arn:<partition>:iam::<account>:policy/<name>)."
  }
}

# ---------------------------------------------------------------------------
# Dead-letter queue (events the handler could not publish)
# ---------------------------------------------------------------------------

variable "dlq" {
  description = "The SQS dead-letter queue for entries that could not be published. kms_key_arn null: SQS-managed SSE. max_message_size is passed to the handler as DLQ_MAX_BYTES; the aws provider 5.x caps it at 262144, 6.8+ allows up to 1048576. The queue's policy lets only the function's role send to it (and only over TLS); additional_sender_arns lists the IAM roles or users that may send too, e.g. the operator's role that runs `dynamodb-fanout replay` or `backfill`, which park what they cannot publish in this queue as the function would. Receiving and deleting are left to IAM (redrive needs no entry here)."
  type = object({
    message_retention_seconds         = optional(number, 1209600)
    max_message_size                  = optional(number, 262144)
    kms_key_arn                       = optional(string)
    kms_data_key_reuse_period_seconds = optional(number, 300)
    additional_sender_arns            = optional(list(string), [])
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for a in var.dlq.additional_sender_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", a))])
    error_message = "Each of dlq.additional_sender_arns must be an IAM role or user ARN (arn:<partition>:iam::<account>:role/<path/name> or :user/...): a queue policy matches it against aws:PrincipalArn."
  }

  validation {
    condition     = var.dlq.message_retention_seconds >= 60 && var.dlq.message_retention_seconds <= 1209600
    error_message = "The dlq.message_retention_seconds must be from 60 to 1209600 (14 days)."
  }

  validation {
    condition     = var.dlq.max_message_size >= 1024 && var.dlq.max_message_size <= 1048576
    error_message = "The dlq.max_message_size must be from 1024 to 1048576 bytes (above 262144 needs aws provider >= 6.8)."
  }

  validation {
    condition     = var.dlq.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.dlq.kms_key_arn))
    error_message = "The dlq.kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>); IAM cannot grant on an alias."
  }

  validation {
    condition     = var.dlq.kms_data_key_reuse_period_seconds >= 60 && var.dlq.kms_data_key_reuse_period_seconds <= 86400
    error_message = "The dlq.kms_data_key_reuse_period_seconds must be from 60 to 86400."
  }
}

# ---------------------------------------------------------------------------
# Event source mapping (stream -> function)
# ---------------------------------------------------------------------------

variable "create_event_source_mapping" {
  description = "Create the event source mapping that makes the stream invoke the function. False leaves it out entirely (deploy without consuming, or drive the function yourself)."
  type        = bool
  default     = true
  nullable    = false
}

variable "event_source_mapping_enabled" {
  description = "Whether the event source mapping is enabled (polling the stream)."
  type        = bool
  default     = true
  nullable    = false
}

variable "batch_size" {
  description = "Largest number of stream records per invocation. A shard behind gets large batches, which one invocation sends in fewer, concurrent rounds (PUBLISH_CONCURRENCY follows it); a quiet one gets what has arrived."
  type        = number
  default     = 1000
  nullable    = false

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000 && floor(var.batch_size) == var.batch_size
    error_message = "The batch_size must be a whole number from 1 to 10000."
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "How long Lambda gathers records before invoking (0: invoke as soon as records arrive)."
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300 && floor(var.maximum_batching_window_in_seconds) == var.maximum_batching_window_in_seconds
    error_message = "The maximum_batching_window_in_seconds must be a whole number from 0 to 300."
  }
}

variable "starting_position" {
  description = "Where a new mapping starts reading: TRIM_HORIZON (everything still in the stream, up to 24 hours: nothing written before the mapping existed is skipped) or LATEST (only changes after the mapping is created). Used when the mapping is created; a change is ignored on an existing mapping (it would read the stream again)."
  type        = string
  default     = "TRIM_HORIZON"
  nullable    = false

  validation {
    condition     = contains(["LATEST", "TRIM_HORIZON"], var.starting_position)
    error_message = "The starting_position must be LATEST or TRIM_HORIZON."
  }
}

variable "parallelization_factor" {
  description = "Concurrent batches per shard. Records with the same partition key stay in order."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.parallelization_factor >= 1 && var.parallelization_factor <= 10 && floor(var.parallelization_factor) == var.parallelization_factor
    error_message = "The parallelization_factor must be a whole number from 1 to 10."
  }
}

variable "maximum_retry_attempts" {
  description = "How often Lambda retries a failing batch before sending it to the on-failure destination and moving on. -1 (the default): no count, the batch is skipped only when its records reach maximum_record_age_in_seconds. A bad record never fails a batch here: the handler parks it in the DLQ. A batch fails only for infrastructure reasons (a crash, a timeout, a bad configuration), and then the age limit bounds the wait. The handler applies the age rule itself from each record's own timestamp; a retry count it can only keep per execution environment, so a count is the weaker limit. Set 10 to keep the former default. -1 needs maximum_record_age_in_seconds set (both -1 would block the shard until the stream trims the records, and lose them without an on-failure record)."
  type        = number
  default     = -1
  nullable    = false

  validation {
    condition     = var.maximum_retry_attempts >= -1 && var.maximum_retry_attempts <= 10000 && floor(var.maximum_retry_attempts) == var.maximum_retry_attempts
    error_message = "The maximum_retry_attempts must be a whole number from -1 to 10000."
  }
}

variable "maximum_record_age_in_seconds" {
  description = "Records older than this are skipped (metadata to the on-failure destination). The default, 6 hours, leaves 18 of the stream's 24 hours to replay them. -1: no limit."
  type        = number
  default     = 21600
  nullable    = false

  validation {
    condition     = var.maximum_record_age_in_seconds == -1 || (var.maximum_record_age_in_seconds >= 60 && var.maximum_record_age_in_seconds <= 604800 && floor(var.maximum_record_age_in_seconds) == var.maximum_record_age_in_seconds)
    error_message = "The maximum_record_age_in_seconds must be -1 or a whole number from 60 to 604800."
  }
}

variable "bisect_batch_on_function_error" {
  description = "Split a failing batch in two and retry the halves, isolating a bad record."
  type        = bool
  default     = true
  nullable    = false
}

variable "filter_criteria_patterns" {
  description = "Up to 5 Lambda event filter patterns (JSON strings); only matching stream records invoke the function. Empty: every record."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = length(var.filter_criteria_patterns) <= 5
    error_message = "At most 5 filter_criteria_patterns are allowed per event source mapping."
  }

  validation {
    condition     = alltrue([for p in var.filter_criteria_patterns : can(keys(jsondecode(p)))])
    error_message = "Each of filter_criteria_patterns must be a JSON object, e.g. jsonencode({ eventName = [\"INSERT\"] })."
  }
}

variable "create_on_failure_queue" {
  description = "Create the SQS queue <name>-on-failure that receives the metadata of batches Lambda gives up on. Set false to use on_failure_destination_arn instead (or no destination at all). With on_failure_bucket.create the bucket is the destination and the queue, while this stays true, is kept for what it holds."
  type        = bool
  default     = true
  nullable    = false
}

variable "on_failure_bucket" {
  description = <<-EOT
    An S3 bucket as the mapping's on-failure destination, created by the module: Lambda writes
    each batch it gives up on there whole, the invocation record with the batch's records, so
    they can be replayed after the stream has trimmed them (24 hours); the SQS queue receives
    only the batch's coordinates. A mapping has one destination: with create = true the bucket
    replaces the on-failure queue as the destination, and the queue itself stays until you set
    create_on_failure_queue = false (once it is empty), so no queued metadata is lost. Off by
    default: the queue costs nothing idle and needs no bucket per table (buckets are an
    account-wide quota); the bucket costs S3 storage of whole batches (up to a few MB each)
    for expiration_days, plus a PUT per failed batch. name: null gives
    <name (16 characters)>-<hash of name>-failed-<account>-<region>; set it to keep the bucket
    through a change of name. kms_key_arn: a customer managed key (null: SSE-S3).
    force_destroy: let a destroy delete the batches still stored (false: it fails instead).
  EOT
  type = object({
    create          = optional(bool, false)
    name            = optional(string)
    expiration_days = optional(number, 14)
    kms_key_arn     = optional(string)
    force_destroy   = optional(bool, false)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.on_failure_bucket.name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.on_failure_bucket.name))
    error_message = "The on_failure_bucket.name must be an S3 bucket name (3-63 of a-z 0-9 . -)."
  }

  validation {
    condition     = var.on_failure_bucket.expiration_days >= 1 && floor(var.on_failure_bucket.expiration_days) == var.on_failure_bucket.expiration_days
    error_message = "The on_failure_bucket.expiration_days must be a whole number of at least 1."
  }

  validation {
    condition     = var.on_failure_bucket.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.on_failure_bucket.kms_key_arn))
    error_message = "The on_failure_bucket.kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>); IAM cannot grant on an alias."
  }
}

variable "on_failure_destination_bucket_owner" {
  description = "12-digit id of the account that owns the S3 bucket given as on_failure_destination_arn. Null: this account. The role may write failed batches only to a bucket of that owner (s3:ResourceAccount), as AWS recommends, so a bucket of that name in another account (one re-created after a deletion) never receives them."
  type        = string
  default     = null

  validation {
    condition     = var.on_failure_destination_bucket_owner == null || can(regex("^[0-9]{12}$", var.on_failure_destination_bucket_owner))
    error_message = "The on_failure_destination_bucket_owner must be a 12-digit AWS account id."
  }
}

variable "on_failure_queue_additional_sender_arns" {
  description = "IAM roles besides the function's own that may send to the module's on-failure queue: the roles of other instances whose failed batches go to this queue (on_failure_destination_arn = this instance's on_failure_destination_arn; pass their role_arn outputs). The queue's policy denies SendMessage to everyone else."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for a in var.on_failure_queue_additional_sender_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", a))])
    error_message = "Each of on_failure_queue_additional_sender_arns must be an IAM role or user ARN (arn:<partition>:iam::<account>:role/<path/name>)."
  }
}

variable "on_failure_destination_arn" {
  description = "With create_on_failure_queue = false and no on_failure_bucket: ARN of an SQS queue, SNS topic or S3 bucket that receives failed batches (metadata; an S3 bucket also gets the records; see on_failure_destination_bucket_owner). May be unknown at plan."
  type        = string
  default     = null

  validation {
    condition     = var.on_failure_destination_arn == null || can(regex("^arn:aws[a-z-]*:((sqs|sns):[a-z0-9-]+:[0-9]{12}:[a-zA-Z0-9_.-]+|s3:::[a-z0-9.-]{3,63})$", var.on_failure_destination_arn))
    error_message = "The on_failure_destination_arn must be an SQS queue, SNS topic or S3 bucket ARN."
  }
}

variable "on_failure_kms_key_arn" {
  description = "ARN of the customer managed KMS key of the given on-failure queue or topic, when it has one; the role gets kms:GenerateDataKey/Decrypt on it. For the module-created queue, dlq.kms_key_arn is used."
  type        = string
  default     = null

  validation {
    condition     = var.on_failure_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.on_failure_kms_key_arn))
    error_message = "The on_failure_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

# ---------------------------------------------------------------------------
# Rules and targets on the bus
# ---------------------------------------------------------------------------

variable "rules" {
  description = <<-EOT
    Rules on the bus, by key (rule name: <name>-<key> unless name is set). Each has an event_pattern
    (a JSON object string), an optional description, enabled (default true) and up to 5 targets by key
    (the target id). A target has an arn and optionally: type (sqs, lambda, sns or other; required with
    create_permission), role_arn, one of input / input_path / input_transformer, dead_letter_arn (SQS),
    retry_policy, sqs_message_group_id (FIFO queues) and create_permission: for sqs/lambda/sns targets in
    this account and region create the queue policy / Lambda permission / topic policy that lets the rule
    deliver. A queue or topic gets one policy with a statement per rule that delivers to it: give it the
    same target key in every rule (the key names the policy; the policy replaces the queue's whole policy).
  EOT
  type = map(object({
    name          = optional(string)
    description   = optional(string)
    event_pattern = string
    enabled       = optional(bool, true)
    targets = optional(map(object({
      arn                  = string
      type                 = optional(string)
      role_arn             = optional(string)
      input                = optional(string)
      input_path           = optional(string)
      input_transformer    = optional(object({ input_paths = optional(map(string), {}), input_template = string }))
      dead_letter_arn      = optional(string)
      retry_policy         = optional(object({ maximum_event_age_in_seconds = optional(number), maximum_retry_attempts = optional(number) }))
      sqs_message_group_id = optional(string)
      create_permission    = optional(bool, false)
    })), {})
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for k, r in var.rules : can(regex("^[.\\-_A-Za-z0-9]{1,64}$", coalesce(r.name, k)))])
    error_message = "Each rules key (or its name) must be 1-64 characters of A-Z a-z 0-9 . - _ (the rule name is <name>-<key>, at most 64 characters)."
  }

  validation {
    condition     = alltrue([for r in var.rules : can(keys(jsondecode(r.event_pattern)))])
    error_message = "Each rule's event_pattern must be a valid JSON object, e.g. jsonencode({ \"detail-type\" = [\"INSERT\"] }). Not one in: ${join(", ", [for k, r in var.rules : k if !can(keys(jsondecode(r.event_pattern)))])}."
  }

  # EventBridge rejects a pattern whose field holds a bare value or an empty array
  # ({"detail-type": "MODIFY"}) only at apply, after the rest of the module exists:
  # catch that shape at plan, at the top level and three levels into "detail".
  validation {
    condition     = length(flatten([for rk, r in var.rules : [for path in flatten([try([for k1, v1 in jsondecode(r.event_pattern) : k1 if !(can(concat(v1, [])) ? length(v1) > 0 : can(keys(v1)))], []), try([for k2, v2 in jsondecode(r.event_pattern).detail : "detail.${k2}" if !(can(concat(v2, [])) ? length(v2) > 0 : can(keys(v2)))], []), try([for k2, v2 in jsondecode(r.event_pattern).detail : [for k3, v3 in v2 : "detail.${k2}.${k3}" if !(can(concat(v3, [])) ? length(v3) > 0 : can(keys(v3)))] if can(keys(v2))], []), try([for k2, v2 in jsondecode(r.event_pattern).detail : [for k3, v3 in v2 : [for k4, v4 in v3 : "detail.${k2}.${k3}.${k4}" if !(can(concat(v4, [])) ? length(v4) > 0 : can(keys(v4)))] if can(keys(v3))] if can(keys(v2))], []), ]) : "rule ${rk} at ${path}"]])) == 0
    error_message = "In a rule's event_pattern every field at the top level and under \"detail\" must be a non-empty array of values to match (\"detail-type\" = [\"MODIFY\"], not \"MODIFY\") or an object of such fields; EventBridge rejects the pattern otherwise. Try a pattern with `dynamodb-fanout check-pattern --pattern '{...}'`. Rejected: ${join(", ", flatten([for rk, r in var.rules : [for path in flatten([try([for k1, v1 in jsondecode(r.event_pattern) : k1 if !(can(concat(v1, [])) ? length(v1) > 0 : can(keys(v1)))], []), try([for k2, v2 in jsondecode(r.event_pattern).detail : "detail.${k2}" if !(can(concat(v2, [])) ? length(v2) > 0 : can(keys(v2)))], []), try([for k2, v2 in jsondecode(r.event_pattern).detail : [for k3, v3 in v2 : "detail.${k2}.${k3}" if !(can(concat(v3, [])) ? length(v3) > 0 : can(keys(v3)))] if can(keys(v2))], []), try([for k2, v2 in jsondecode(r.event_pattern).detail : [for k3, v3 in v2 : [for k4, v4 in v3 : "detail.${k2}.${k3}.${k4}" if !(can(concat(v4, [])) ? length(v4) > 0 : can(keys(v4)))] if can(keys(v3))] if can(keys(v2))], []), ]) : "rule ${rk} at ${path}"]]))}."
  }

  validation {
    condition     = alltrue([for r in var.rules : length(r.event_pattern) <= 4096])
    error_message = "Each rule's event_pattern must be at most 4096 characters."
  }

  validation {
    condition     = alltrue([for r in var.rules : length(r.targets) <= 5])
    error_message = "A rule has at most 5 targets (EventBridge limit)."
  }

  validation {
    condition     = alltrue(flatten([for r in var.rules : [for k, t in r.targets : can(regex("^[.\\-_A-Za-z0-9]{1,64}$", k))]]))
    error_message = "Each target key is its target id: 1-64 characters of A-Z a-z 0-9 . - _."
  }

  validation {
    condition     = alltrue(flatten([for r in var.rules : [for t in r.targets : can(regex("^arn:aws[a-z-]*:[a-z0-9-]+:", t.arn))]]))
    error_message = "Each target's arn must be an ARN (arn:<partition>:<service>:...). Not one in: ${join(", ", flatten([for rk, r in var.rules : [for tk, t in r.targets : "${rk}.${tk}" if !can(regex("^arn:aws[a-z-]*:[a-z0-9-]+:", t.arn))]]))}."
  }

  validation {
    condition     = alltrue(flatten([for r in var.rules : [for t in r.targets : t.type == null || contains(["sqs", "lambda", "sns", "other"], coalesce(t.type, "other"))]]))
    error_message = "A target's type must be one of: sqs, lambda, sns, other (or null to infer it from the ARN)."
  }

  # The services EventBridge rules deliver to (AWS: "Event bus targets"); "events" covers
  # other buses, API destinations and the built-in EC2 targets. (Inline: a validation may
  # refer only to its own variable before Terraform 1.9.)
  validation {
    condition     = alltrue(flatten([for r in var.rules : [for t in r.targets : try(contains(["appsync", "batch", "codebuild", "codepipeline", "ecs", "events", "execute-api", "firehose", "glue", "inspector", "kinesis", "lambda", "logs", "redshift", "redshift-serverless", "sagemaker", "sns", "sqs", "ssm", "ssm-incidents", "states"], split(":", t.arn)[2]), true)]]))
    error_message = "A target's ARN must be of a service EventBridge rules deliver to: an SQS queue, SNS topic, Lambda function, Step Functions state machine, Kinesis or Firehose stream, log group, event bus or API destination, API Gateway, AppSync, Batch, CodeBuild, CodePipeline, ECS, Glue, Inspector, Redshift, SageMaker, Systems Manager or Incident Manager. Not one in: ${join(", ", flatten([for rk, r in var.rules : [for tk, t in r.targets : "${rk}.${tk} (${try(split(":", t.arn)[2], "-")})" if !try(contains(["appsync", "batch", "codebuild", "codepipeline", "ecs", "events", "execute-api", "firehose", "glue", "inspector", "kinesis", "lambda", "logs", "redshift", "redshift-serverless", "sagemaker", "sns", "sqs", "ssm", "ssm-incidents", "states"], split(":", t.arn)[2]), true)]]))}."
  }

  validation {
    condition     = alltrue(flatten([for r in var.rules : [for t in r.targets : coalesce(t.type, "other") == "other" || try(split(":", t.arn)[2], t.type) == t.type]]))
    error_message = "A target's type must be the service of its ARN (type = \"sqs\" needs an arn:...:sqs:... ARN): the permission would be written for the wrong kind of resource. Not so in: ${join(", ", flatten([for rk, r in var.rules : [for tk, t in r.targets : "${rk}.${tk} (type ${coalesce(t.type, "-")}, ARN of ${try(split(":", t.arn)[2], "-")})" if coalesce(t.type, "other") != "other" && try(split(":", t.arn)[2], t.type) != t.type]]))}."
  }

  validation {
    condition     = alltrue(flatten([for r in var.rules : [for t in r.targets : !t.create_permission || t.type != null]]))
    error_message = "A target with create_permission must set type (sqs, lambda or sns): which permission to create must be known at plan, also when the ARN is not. Missing in: ${join(", ", flatten([for rk, r in var.rules : [for tk, t in r.targets : "${rk}.${tk}" if t.create_permission && t.type == null]]))}."
  }

  validation {
    condition     = alltrue(flatten([for r in var.rules : [for t in r.targets : length(compact([t.input, t.input_path, t.input_transformer == null ? null : "x"])) <= 1]]))
    error_message = "A target may set at most one of input, input_path and input_transformer."
  }

  validation {
    condition     = alltrue(flatten([for r in var.rules : [for t in r.targets : t.input == null || can(jsondecode(t.input))]]))
    error_message = "A target's input must be valid JSON text."
  }

  validation {
    condition     = alltrue(flatten([for r in var.rules : [for t in r.targets : t.dead_letter_arn == null || can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[a-zA-Z0-9_.-]+$", t.dead_letter_arn))]]))
    error_message = "A target's dead_letter_arn must be an SQS queue ARN."
  }

  validation {
    condition = alltrue(flatten([for r in var.rules : [for t in r.targets : t.retry_policy == null || try(
      (t.retry_policy.maximum_event_age_in_seconds == null || (t.retry_policy.maximum_event_age_in_seconds >= 60 && t.retry_policy.maximum_event_age_in_seconds <= 86400)) &&
      (t.retry_policy.maximum_retry_attempts == null || (t.retry_policy.maximum_retry_attempts >= 0 && t.retry_policy.maximum_retry_attempts <= 185)),
    false)]]))
    error_message = "A target's retry_policy needs maximum_event_age_in_seconds from 60 to 86400 and maximum_retry_attempts from 0 to 185."
  }
}

# ---------------------------------------------------------------------------
# Alarms
# ---------------------------------------------------------------------------

variable "create_alarms" {
  description = "Create CloudWatch alarms: dead-letter queue has messages, module-created on-failure queue has messages, function errors, on-failure deliveries failed, stream iterator age too high, stream not read, sustained PutEvents throttling."
  type        = bool
  default     = true
  nullable    = false
}

variable "alarm_actions" {
  description = "ARNs notified when an alarm fires (e.g. an SNS topic)."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "ok_actions" {
  description = "ARNs notified when an alarm returns to OK."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "iterator_age_alarm_threshold_seconds" {
  description = "The iterator-age alarm fires when the oldest record of a batch was written more than this many seconds before it was read (the function is falling behind)."
  type        = number
  default     = 300
  nullable    = false

  validation {
    condition     = var.iterator_age_alarm_threshold_seconds >= 1 && var.iterator_age_alarm_threshold_seconds <= 86400
    error_message = "The iterator_age_alarm_threshold_seconds must be from 1 to 86400."
  }
}

variable "stream_silence_alarm_minutes" {
  description = "The stream-not-read alarm fires when no batch reached the function for this many minutes (IteratorAge has no data then: a disabled or failing mapping, or a quiet table). Null: no such alarm."
  type        = number
  default     = 60

  validation {
    condition     = var.stream_silence_alarm_minutes == null || try(var.stream_silence_alarm_minutes >= 1 && var.stream_silence_alarm_minutes <= 1440 && floor(var.stream_silence_alarm_minutes) == var.stream_silence_alarm_minutes, false)
    error_message = "The stream_silence_alarm_minutes must be null or a whole number of minutes from 1 to 1440."
  }
}

variable "throttling_alarm_minutes" {
  description = "The sustained-throttling alarm fires when PutEvents throttled the function in each of this many consecutive minutes (the account's PutEvents quota is too low for the stream: raise it, filter, or batch). Throttled records stay in the stream, nothing is parked. Null: no such alarm."
  type        = number
  default     = 15

  validation {
    condition     = var.throttling_alarm_minutes == null || try(var.throttling_alarm_minutes >= 1 && var.throttling_alarm_minutes <= 1440 && floor(var.throttling_alarm_minutes) == var.throttling_alarm_minutes, false)
    error_message = "The throttling_alarm_minutes must be null or a whole number of minutes from 1 to 1440."
  }
}

variable "alarm_evaluation_periods" {
  description = "Consecutive 1-minute periods an alarm condition must hold before the error and iterator-age alarms fire."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.alarm_evaluation_periods >= 1 && var.alarm_evaluation_periods <= 60 && floor(var.alarm_evaluation_periods) == var.alarm_evaluation_periods
    error_message = "The alarm_evaluation_periods must be a whole number from 1 to 60."
  }
}

variable "create_schema_registry" {
  description = "Create an EventBridge schema registry holding the JSON Schema (draft-04) of the events for the chosen detail_format, so consumers can download code bindings."
  type        = bool
  default     = false
  nullable    = false
}

variable "schema_registry_name" {
  description = "Name of the schema registry; null: \"<name>-events\". Used when create_schema_registry is true."
  type        = string
  default     = null

  validation {
    condition     = var.schema_registry_name == null || can(regex("^[A-Za-z0-9._@-]{1,64}$", var.schema_registry_name))
    error_message = "The schema_registry_name must be 1-64 of A-Z a-z 0-9 . _ - @."
  }
}

variable "large_event_bucket" {
  description = "Name of an existing S3 bucket for claim-checked events: an event above max_event_size is stored whole there and published as a pointer. Known at plan (a literal or a variable). Null: no claim-check, unless create_large_event_bucket is true."
  type        = string
  default     = null

  validation {
    condition     = var.large_event_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.large_event_bucket))
    error_message = "The large_event_bucket must be an S3 bucket name (3-63 of a-z 0-9 . -), not an ARN."
  }
}

variable "large_event_bucket_owner" {
  description = "12-digit id of the account that owns large_event_bucket. Null: this account. The function may write only to a bucket of that owner (s3:ResourceAccount in its policy, and LARGE_EVENT_BUCKET_OWNER, which the handler sends as ExpectedBucketOwner), so a bucket of that name in another account is never written to."
  type        = string
  default     = null

  validation {
    condition     = var.large_event_bucket_owner == null || can(regex("^[0-9]{12}$", var.large_event_bucket_owner))
    error_message = "The large_event_bucket_owner must be a 12-digit AWS account id."
  }
}

variable "create_large_event_bucket" {
  description = "Create the bucket for claim-checked events (SSE, public access blocked, objects expire after large_event_expiration_days). Mutually exclusive with large_event_bucket."
  type        = bool
  default     = false
  nullable    = false
}

variable "large_event_bucket_name" {
  description = "Name of the bucket create_large_event_bucket creates. Null: <name (16 characters)>-<hash of name>-large-<account>-<region>. Set it to the current bucket's name (the large_event_bucket output) to keep that bucket when you rename the module's name."
  type        = string
  default     = null

  validation {
    condition     = var.large_event_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.large_event_bucket_name))
    error_message = "The large_event_bucket_name must be an S3 bucket name (3-63 of a-z 0-9 . -)."
  }
}

variable "large_event_bucket_force_destroy" {
  description = "Let a destroy (or a replacement) of the created bucket delete the claim-checked events still in it. False: such a destroy fails while the bucket holds events, so none are lost by accident."
  type        = bool
  default     = false
  nullable    = false
}

variable "large_event_bucket_tls_only" {
  description = "Give the created bucket a policy that denies every request without TLS. Set false only for a local stack whose S3 speaks plain HTTP (moto_server)."
  type        = bool
  default     = true
  nullable    = false
}

variable "large_event_prefix" {
  description = "Key prefix of claim-checked events in the bucket; keys are <prefix><table>/<eventID>-<digest>.json. The function may write under <prefix><table>/ only (its own table's objects), so instances may share a bucket and a prefix."
  type        = string
  default     = "large-events/"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()/-]{1,200}/$", var.large_event_prefix)) && !startswith(var.large_event_prefix, "/")
    error_message = "The large_event_prefix must be 1-200 characters of A-Z a-z 0-9 ! _ . * ' ( ) - /, end with \"/\" and not start with one."
  }
}

variable "large_event_expiration_days" {
  description = "Days after which claim-checked events expire in the bucket the module creates. Consumers must fetch them before."
  type        = number
  default     = 14
  nullable    = false

  validation {
    condition     = var.large_event_expiration_days >= 1 && floor(var.large_event_expiration_days) == var.large_event_expiration_days
    error_message = "The large_event_expiration_days must be a whole number of at least 1."
  }
}

variable "large_event_kms_key_arn" {
  description = "Customer managed KMS key for claim-checked events: the created bucket encrypts with it, and the function may use it to write to an existing bucket encrypted with it. Null: SSE-S3 (AES256) on the created bucket."
  type        = string
  default     = null

  validation {
    condition     = var.large_event_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:\\d{12}:key/.+$", var.large_event_kms_key_arn))
    error_message = "The large_event_kms_key_arn must be a KMS key ARN."
  }
}

variable "max_event_size" {
  description = "Largest event in bytes (AWS's PutEvents size formula) published whole; above it the event is claim-checked (with a bucket) or dead-lettered (without). Null: max_event_bytes. Set 262144 when targets such as SNS or Step Functions take at most 256 KB."
  type        = number
  default     = null

  validation {
    condition     = var.max_event_size == null || try(var.max_event_size >= 1024 && var.max_event_size <= 1048576 && floor(var.max_event_size) == var.max_event_size, false)
    error_message = "The max_event_size must be a whole number from 1024 to 1048576."
  }
}

# ---------------------------------------------------------------------------
# Ordered delivery: an existing bus of the new kind (event-busv2), see ordered_bus.tf
# ---------------------------------------------------------------------------

variable "ordered_event_bus_arn" {
  description = "ARN of an existing new custom event bus (arn:<partition>:events:<region>:<account>:event-busv2/<name>/<id>, API eventbridgev2), created outside Terraform. The function then publishes with every item's changes in order (EventGroupId = table + a bucket of the item key, see event_groups) and de-duplicated (DeduplicationId = eventID). Needs create_event_bus = false, no event_bus_name, no rules and no archive: subscribers are managed with the bus. Null: the classic bus."
  type        = string
  default     = null

  validation {
    condition     = var.ordered_event_bus_arn == null || can(regex("^arn:aws(-[a-z0-9]+)*:events:[a-z][a-z0-9]*(-[a-z0-9]+)*:[0-9]{12}:event-busv2/[A-Za-z0-9][.\\-_A-Za-z0-9]{0,255}/[a-z0-9]{25}$", var.ordered_event_bus_arn))
    error_message = "The ordered_event_bus_arn must be a new custom event bus ARN, arn:<partition>:events:<region>:<account>:event-busv2/<name>/<25-character id> (the EventBusArn that create-event-bus returns), or null."
  }
}

variable "event_groups" {
  description = "On the new custom event bus: how many event groups (EventGroupId) the table's items are hashed into. Every change of an item lands in its item's group, so per-item order is kept; items sharing a group share its order (a change that cannot be delivered holds up its group). AWS asks for bounded group ids and limits each group to 1,500 events plus KB per second; 10,000 keeps both far away for any one table. Changing it moves items to other groups: order across the change is not kept for changes in flight."
  type        = number
  default     = 10000
  nullable    = false

  validation {
    condition     = var.event_groups >= 1 && var.event_groups <= 1000000 && floor(var.event_groups) == var.event_groups
    error_message = "The event_groups must be a whole number from 1 to 1000000."
  }
}
