# SQS queues: the dead-letter queue the handler writes entries it could not publish to,
# and (unless create_on_failure_queue = false) the on-failure destination where Lambda
# sends the metadata of batches it gave up on.

locals {
  # A bool, not "is on_failure_destination_arn null?": an ARN created in the same root is
  # unknown at plan, and a count must not depend on it.
  create_on_failure_queue = var.create_event_source_mapping && var.create_on_failure_queue

  dlq_name        = "${local.name}-dlq"
  on_failure_name = "${local.name}-on-failure"
  # Built from plan-time values so the role policy is complete in the first plan.
  dlq_arn              = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.dlq_name}"
  on_failure_queue_arn = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.on_failure_name}"

  # One destination per mapping: the module's bucket (on_failure_bucket.tf) when asked for,
  # else the module's queue, else the given ARN. The queue outlives a switch to the bucket.
  on_failure_queue_is_destination = local.create_on_failure_queue && !local.create_on_failure_bucket
  on_failure_destination_arn = (
    !var.create_event_source_mapping ? null :
    local.create_on_failure_bucket ? module.on_failure_bucket[0].arn :
    local.create_on_failure_queue ? aws_sqs_queue.on_failure[0].arn : var.on_failure_destination_arn
  )
  on_failure_destination_for_policy = (
    local.create_on_failure_bucket ? local.on_failure_bucket_arn :
    local.create_on_failure_queue ? local.on_failure_queue_arn : var.on_failure_destination_arn
  )
  # The statement granting the destination depends on its service: sqs, sns or s3.
  on_failure_service = (
    local.create_on_failure_bucket ? "s3" :
    local.create_on_failure_queue ? "sqs" :
    var.on_failure_destination_arn == null ? "none" : split(":", var.on_failure_destination_arn)[2]
  )
}

resource "aws_sqs_queue" "dlq" {
  name                              = local.dlq_name
  message_retention_seconds         = var.dlq.message_retention_seconds
  max_message_size                  = var.dlq.max_message_size
  sqs_managed_sse_enabled           = var.dlq.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.dlq.kms_key_arn
  kms_data_key_reuse_period_seconds = var.dlq.kms_key_arn == null ? null : var.dlq.kms_data_key_reuse_period_seconds
  tags                              = var.tags
}

resource "aws_sqs_queue" "on_failure" {
  count = local.create_on_failure_queue ? 1 : 0

  name                              = local.on_failure_name
  message_retention_seconds         = var.dlq.message_retention_seconds
  sqs_managed_sse_enabled           = var.dlq.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.dlq.kms_key_arn
  kms_data_key_reuse_period_seconds = var.dlq.kms_key_arn == null ? null : var.dlq.kms_data_key_reuse_period_seconds
  tags                              = var.tags

  lifecycle {
    precondition {
      condition     = var.on_failure_destination_arn == null
      error_message = "on_failure_destination_arn is set while create_on_failure_queue = true: set create_on_failure_queue = false to send failed batches to your own queue, topic or bucket."
    }
  }
}

# Who may write to the module's queues. Whoever can send to them can put words in an
# operator's mouth (a redrive re-publishes what the DLQ holds, a replay reads the batches
# the on-failure queue names), so each queue's policy lets only the function's role send:
#
# - DenySendingByOthers: Deny sqs:SendMessage (SendMessageBatch needs the same action) to
#   every principal whose aws:PrincipalArn is not the function's role (or a role the user
#   adds). In the same account an identity policy that allows SendMessage is enough to send,
#   so only an explicit Deny in the queue's policy keeps other roles and users out. The
#   role is matched by aws:PrincipalArn, not named as Principal: IAM stores a principal ARN
#   as the role's unique id, and a policy naming a role that was deleted and re-created
#   (a role_name change, a re-created instance) would no longer match it. A request without
#   aws:PrincipalArn (a service principal) is denied too. Lambda writes the on-failure
#   records with the function's execution role, so the same rule admits them.
# - DenyRequestsWithoutTLS: Deny every SQS action on the queue without TLS
#   (aws:SecureTransport = false), as AWS's SQS security best practices recommend.
#
# Nothing else is denied: receiving, deleting and changing visibility (redrive, replay) and
# managing the queue stay with IAM. No Allow is needed: the function's role is in this
# account and its own policy allows SendMessage on these queues.
locals {
  # The function's role as aws:PrincipalArn names it, from plan-time values (the created
  # role's ARN is arn:<partition>:iam::<account>:role<path><name>), so the first plan shows
  # the whole policy.
  function_role_arn_for_policy = (
    var.create_role ? "arn:${local.partition}:iam::${local.account_id}:role${coalesce(var.role_path, "/")}${local.role_name}" : var.role_arn
  )

  queue_senders = {
    dlq        = concat([local.function_role_arn_for_policy], var.dlq.additional_sender_arns)
    on_failure = concat([local.function_role_arn_for_policy], var.on_failure_queue_additional_sender_arns)
  }

  queue_policies = {
    for queue, arn in { dlq = local.dlq_arn, on_failure = local.on_failure_queue_arn } : queue => jsonencode({
      Version = "2012-10-17"
      Statement = [
        {
          Sid       = "DenySendingByOthers"
          Effect    = "Deny"
          Principal = "*"
          Action    = "sqs:SendMessage"
          Resource  = arn
          Condition = { ArnNotEquals = { "aws:PrincipalArn" = local.queue_senders[queue] } }
        },
        {
          Sid       = "DenyRequestsWithoutTLS"
          Effect    = "Deny"
          Principal = "*"
          Action    = "sqs:*"
          Resource  = arn
          Condition = { Bool = { "aws:SecureTransport" = "false" } }
        },
      ]
    })
  }
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.url
  policy    = local.queue_policies.dlq
}

resource "aws_sqs_queue_policy" "on_failure" {
  count = local.create_on_failure_queue ? 1 : 0

  queue_url = aws_sqs_queue.on_failure[0].url
  policy    = local.queue_policies.on_failure
}
