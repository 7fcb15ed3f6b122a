# The module's queues accept messages from the function's role only, over TLS only, and
# leave receiving and deleting to IAM: the exact policies, statement by statement.

mock_provider "aws" {
  source = "./tests/mocks"
}

override_resource {
  target = aws_sqs_queue.dlq
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:orders-fanout-dlq"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-fanout-dlq"
  }
}

override_resource {
  target = aws_sqs_queue.on_failure
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:orders-fanout-on-failure"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-fanout-on-failure"
  }
}

variables {
  dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2024-05-01T00:00:00.000"
}

# A plan: the policies are whole before anything exists (an unknown value would fail the
# assertion), because the role's ARN is built from the role's name, path and account.
run "only_the_function_sends_and_only_over_tls" {
  command = plan

  assert {
    condition = jsondecode(aws_sqs_queue_policy.dlq.policy) == {
      Version = "2012-10-17"
      Statement = [
        {
          Sid       = "DenySendingByOthers"
          Effect    = "Deny"
          Principal = "*"
          Action    = "sqs:SendMessage"
          Resource  = "arn:aws:sqs:eu-west-1:123456789012:orders-fanout-dlq"
          Condition = { ArnNotEquals = { "aws:PrincipalArn" = ["arn:aws:iam::123456789012:role/orders-fanout-eu-west-1"] } }
        },
        {
          Sid       = "DenyRequestsWithoutTLS"
          Effect    = "Deny"
          Principal = "*"
          Action    = "sqs:*"
          Resource  = "arn:aws:sqs:eu-west-1:123456789012:orders-fanout-dlq"
          Condition = { Bool = { "aws:SecureTransport" = "false" } }
        },
      ]
    }
    error_message = "The DLQ must deny SendMessage to every principal but the function's role, and every request without TLS: ${aws_sqs_queue_policy.dlq.policy}"
  }
  assert {
    condition = jsondecode(aws_sqs_queue_policy.on_failure[0].policy) == {
      Version = "2012-10-17"
      Statement = [
        {
          Sid       = "DenySendingByOthers"
          Effect    = "Deny"
          Principal = "*"
          Action    = "sqs:SendMessage"
          Resource  = "arn:aws:sqs:eu-west-1:123456789012:orders-fanout-on-failure"
          Condition = { ArnNotEquals = { "aws:PrincipalArn" = ["arn:aws:iam::123456789012:role/orders-fanout-eu-west-1"] } }
        },
        {
          Sid       = "DenyRequestsWithoutTLS"
          Effect    = "Deny"
          Principal = "*"
          Action    = "sqs:*"
          Resource  = "arn:aws:sqs:eu-west-1:123456789012:orders-fanout-on-failure"
          Condition = { Bool = { "aws:SecureTransport" = "false" } }
        },
      ]
    }
    error_message = "The on-failure queue must deny SendMessage to every principal but the function's role (Lambda delivers failed batches with it), and every request without TLS: ${aws_sqs_queue_policy.on_failure[0].policy}"
  }
  # The operator's redrive and replay receive, delete and change visibility: nothing may
  # deny those over TLS, and no statement may allow anything (IAM grants, the policy fences).
  assert {
    condition = alltrue([for p in [aws_sqs_queue_policy.dlq.policy, aws_sqs_queue_policy.on_failure[0].policy] : alltrue([
      for s in jsondecode(p).Statement : s.Effect == "Deny" && (s.Action == "sqs:SendMessage" || s.Condition == { Bool = { "aws:SecureTransport" = "false" } })
    ])])
    error_message = "Only SendMessage may be denied to principals over TLS; every other Deny must be the TLS one."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "DeadLetterUnpublishedEvents"]).Resource == ["arn:aws:sqs:eu-west-1:123456789012:orders-fanout-dlq"]
    error_message = "The role the queue admits must still be allowed to send by its own policy."
  }
}

run "policies_are_on_the_module_queues" {
  assert {
    condition     = aws_sqs_queue_policy.dlq.queue_url == aws_sqs_queue.dlq.url && aws_sqs_queue_policy.on_failure[0].queue_url == aws_sqs_queue.on_failure[0].url
    error_message = "Each policy must be on its own queue."
  }
}

# The created role's ARN carries its path; aws:PrincipalArn names the role with it.
run "role_path_is_part_of_the_principal" {
  command = plan
  variables {
    role_path = "/service-roles/"
    role_name = "fanout-orders"
  }
  assert {
    condition     = jsondecode(aws_sqs_queue_policy.dlq.policy).Statement[0].Condition == { ArnNotEquals = { "aws:PrincipalArn" = ["arn:aws:iam::123456789012:role/service-roles/fanout-orders"] } }
    error_message = "The principal must be arn:<partition>:iam::<account>:role<path><name>: ${aws_sqs_queue_policy.dlq.policy}"
  }
}

run "own_role_is_the_one_that_sends" {
  command = plan
  variables {
    create_role = false
    role_arn    = "arn:aws:iam::123456789012:role/platform/fanout"
  }
  assert {
    condition = alltrue([for p in [aws_sqs_queue_policy.dlq.policy, aws_sqs_queue_policy.on_failure[0].policy] :
    jsondecode(p).Statement[0].Condition == { ArnNotEquals = { "aws:PrincipalArn" = ["arn:aws:iam::123456789012:role/platform/fanout"] } }])
    error_message = "With create_role = false the queues must admit role_arn."
  }
}

# An operator's replay or backfill parks in the DLQ as the function would; other instances
# may share this instance's on-failure queue. Each list reaches its own queue only.
run "additional_senders_are_admitted_where_given" {
  command = plan
  variables {
    dlq                                     = { additional_sender_arns = ["arn:aws:iam::123456789012:role/operator"] }
    on_failure_queue_additional_sender_arns = ["arn:aws:iam::123456789012:role/payments-fanout-eu-west-1"]
  }
  assert {
    condition     = jsondecode(aws_sqs_queue_policy.dlq.policy).Statement[0].Condition == { ArnNotEquals = { "aws:PrincipalArn" = ["arn:aws:iam::123456789012:role/orders-fanout-eu-west-1", "arn:aws:iam::123456789012:role/operator"] } }
    error_message = "dlq.additional_sender_arns must be admitted to the DLQ: ${aws_sqs_queue_policy.dlq.policy}"
  }
  assert {
    condition     = jsondecode(aws_sqs_queue_policy.on_failure[0].policy).Statement[0].Condition == { ArnNotEquals = { "aws:PrincipalArn" = ["arn:aws:iam::123456789012:role/orders-fanout-eu-west-1", "arn:aws:iam::123456789012:role/payments-fanout-eu-west-1"] } }
    error_message = "on_failure_queue_additional_sender_arns must be admitted to the on-failure queue: ${aws_sqs_queue_policy.on_failure[0].policy}"
  }
}

run "no_on_failure_queue_no_policy_for_it" {
  command = plan
  variables {
    create_on_failure_queue = false
  }
  assert {
    condition     = length(aws_sqs_queue_policy.on_failure) == 0 && length(aws_sqs_queue_policy.dlq.policy) > 0
    error_message = "Without the on-failure queue only the DLQ has a policy."
  }
}

run "sender_arns_must_be_principals" {
  command = plan
  variables {
    dlq                                     = { additional_sender_arns = ["arn:aws:sqs:eu-west-1:123456789012:elsewhere"] }
    on_failure_queue_additional_sender_arns = ["operator"]
  }
  expect_failures = [var.dlq, var.on_failure_queue_additional_sender_arns]
}
