# Least privilege, asserted on the decoded policy document.

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

override_resource {
  target = aws_cloudwatch_log_group.this
  values = {
    arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders-fanout"
  }
}

variables {
  dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2024-05-01T00:00:00.000"
}

run "default_policy_is_least_privilege" {
  assert {
    condition = { for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s.Sid => s.Action } == {
      ReadTheStream               = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
      ListStreams                 = ["dynamodb:ListStreams"]
      PublishToTheBus             = ["events:PutEvents"]
      DeadLetterUnpublishedEvents = ["sqs:SendMessage"]
      SendBatchMetadataOnFailure  = ["sqs:SendMessage"]
      WriteOwnLogs                = ["logs:CreateLogStream", "logs:PutLogEvents"]
    }
    error_message = "Every statement's action list must be exactly what the function needs: ${aws_iam_role_policy.this[0].policy}"
  }
  assert {
    condition     = aws_iam_role_policy.this[0].policy == output.role_policy_json && aws_iam_role_policy.this[0].role == aws_iam_role.this[0].id
    error_message = "The role's inline policy must be the role_policy_json output, on the module's role."
  }
  assert {
    condition = toset([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s.Sid]) == toset([
      "ReadTheStream", "ListStreams", "PublishToTheBus", "DeadLetterUnpublishedEvents",
      "SendBatchMetadataOnFailure", "WriteOwnLogs",
    ])
    error_message = "Unexpected statements: ${aws_iam_role_policy.this[0].policy}"
  }
  assert {
    condition     = alltrue([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s.Effect == "Allow" && alltrue([for a in s.Action : !strcontains(a, "*")])])
    error_message = "No action may contain a wildcard."
  }
  assert {
    condition     = alltrue([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : !contains(s.Resource, "*") || s.Action == ["dynamodb:ListStreams"]])
    error_message = "Only dynamodb:ListStreams may use Resource \"*\" (AWS supports no resource there)."
  }
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "ReadTheStream"]) == {
      Sid      = "ReadTheStream"
      Effect   = "Allow"
      Action   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
      Resource = ["arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/*"]
    }
    error_message = "Stream reads must be on this table's streams only."
  }
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "PublishToTheBus"]) == {
      Sid      = "PublishToTheBus"
      Effect   = "Allow"
      Action   = ["events:PutEvents"]
      Resource = ["arn:aws:events:eu-west-1:123456789012:event-bus/orders-fanout-bus"]
      Condition = {
        "ForAllValues:StringEquals" = { "events:source" = ["dynamodb.orders"] }
        Null                        = { "events:source" = "false" }
      }
    }
    error_message = "PutEvents must be on the bus only, conditioned on the event source."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "DeadLetterUnpublishedEvents"]).Resource == ["arn:aws:sqs:eu-west-1:123456789012:orders-fanout-dlq"]
    error_message = "sqs:SendMessage must be on the DLQ."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "SendBatchMetadataOnFailure"]).Resource == ["arn:aws:sqs:eu-west-1:123456789012:orders-fanout-on-failure"]
    error_message = "The on-failure statement must be on the module's on-failure queue."
  }
  assert {
    condition     = toset(flatten([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s.Resource if contains(s.Action, "sqs:SendMessage")])) == toset(["arn:aws:sqs:eu-west-1:123456789012:orders-fanout-dlq", "arn:aws:sqs:eu-west-1:123456789012:orders-fanout-on-failure"])
    error_message = "sqs:SendMessage must be granted on the DLQ and the on-failure queue only."
  }
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "WriteOwnLogs"]) == {
      Sid      = "WriteOwnLogs"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = ["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders-fanout:*"]
    }
    error_message = "Logs must be written to the function's own log group only."
  }
  assert {
    condition = jsondecode(aws_iam_role.this[0].assume_role_policy) == {
      Version = "2012-10-17"
      Statement = [{
        Sid       = "LambdaAssumesRole"
        Effect    = "Allow"
        Principal = { Service = "lambda.amazonaws.com" }
        Action    = "sts:AssumeRole"
        Condition = { StringEquals = { "aws:SourceAccount" = "123456789012" } }
      }]
    }
    error_message = "Only the Lambda service may assume the role, with sts:AssumeRole, for this account only."
  }
}

run "kms_only_on_given_keys" {
  variables {
    stream_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000001"
    dlq                = { kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000002" }
  }
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "DecryptTheStream"]) == {
      Sid      = "DecryptTheStream"
      Effect   = "Allow"
      Action   = ["kms:Decrypt"]
      Resource = ["arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000001"]
      Condition = { StringEquals = {
        "kms:ViaService"                                  = "dynamodb.eu-west-1.amazonaws.com"
        "kms:EncryptionContext:aws:dynamodb:tableName"    = "orders"
        "kms:EncryptionContext:aws:dynamodb:subscriberId" = "123456789012"
      } }
    }
    error_message = "kms:Decrypt for the stream must be on the table's key only, through DynamoDB, for this table only."
  }
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "EncryptForTheModuleQueues"]) == {
      Sid      = "EncryptForTheModuleQueues"
      Effect   = "Allow"
      Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
      Resource = ["arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000002"]
      Condition = {
        StringEquals               = { "kms:ViaService" = "sqs.eu-west-1.amazonaws.com" }
        "ForAnyValue:StringEquals" = { "kms:EncryptionContext:aws:sqs:arn" = ["arn:aws:sqs:eu-west-1:123456789012:orders-fanout-dlq", "arn:aws:sqs:eu-west-1:123456789012:orders-fanout-on-failure"] }
      }
    }
    error_message = "Queue encryption permissions must be on the queue key only, through SQS, for the module's two queues only."
  }
  assert {
    condition     = aws_sqs_queue.dlq.kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000002" && aws_sqs_queue.on_failure[0].kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000002"
    error_message = "dlq.kms_key_arn must encrypt both module queues."
  }
}

# Every KMS grant, whatever the combination of keys: never on "*", always through the
# service that uses the key, and with the context that service sets where it sets one.
run "every_kms_grant_is_scoped" {
  variables {
    stream_kms_key_arn      = "arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000001"
    lambda_kms_key_arn      = "arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000004"
    log_kms_key_arn         = "arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000005"
    event_bus_kms_key_arn   = "arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000006"
    dlq                     = { kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000002" }
    large_event_bucket      = "claims-bucket"
    large_event_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000007"
  }
  assert {
    condition = alltrue([for s in concat(jsondecode(aws_iam_role_policy.this[0].policy).Statement, jsondecode(aws_iam_role_policy.claim_check[0].policy).Statement) :
      length(s.Resource) == 1 && s.Resource[0] != "*" && startswith(s.Resource[0], "arn:aws:kms:") &&
      endswith(s.Condition.StringEquals["kms:ViaService"], ".eu-west-1.amazonaws.com")
    if anytrue([for a in s.Action : startswith(a, "kms:")])])
    error_message = "Every KMS statement must name one key and carry kms:ViaService."
  }
  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if anytrue([for a in s.Action : startswith(a, "kms:")])]) == 4
    error_message = "Four keys, four statements: stream, environment, queues, bus (the log key is used by CloudWatch Logs, not by the role)."
  }
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "DecryptTheEnvironment"]) == {
      Sid      = "DecryptTheEnvironment"
      Effect   = "Allow"
      Action   = ["kms:Decrypt"]
      Resource = ["arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000004"]
      Condition = { StringEquals = {
        "kms:ViaService"                               = "lambda.eu-west-1.amazonaws.com"
        "kms:EncryptionContext:aws:lambda:FunctionArn" = "arn:aws:lambda:eu-west-1:123456789012:function:orders-fanout"
      } }
    }
    error_message = "The environment key may be used by Lambda only, for this function only."
  }
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "EncryptForTheBus"]) == {
      Sid      = "EncryptForTheBus"
      Effect   = "Allow"
      Action   = ["kms:GenerateDataKey"]
      Resource = ["arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000006"]
      Condition = { StringEquals = {
        "kms:ViaService"                                 = "events.eu-west-1.amazonaws.com"
        "kms:EncryptionContext:aws:events:event-bus:arn" = "arn:aws:events:eu-west-1:123456789012:event-bus/orders-fanout-bus"
      } }
    }
    error_message = "The bus key may be used through EventBridge for this bus only."
  }
  assert {
    condition     = aws_cloudwatch_event_bus.this[0].kms_key_identifier == "arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000006"
    error_message = "event_bus_kms_key_arn must encrypt the created bus."
  }
  assert {
    condition     = aws_lambda_function.this.kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000004"
    error_message = "lambda_kms_key_arn must encrypt the function's environment."
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000005"
    error_message = "log_kms_key_arn must encrypt the log group."
  }
}

run "sqs_on_failure_destination_key_is_scoped_to_it" {
  variables {
    create_on_failure_queue    = false
    on_failure_destination_arn = "arn:aws:sqs:eu-west-1:123456789012:team-failures"
    on_failure_kms_key_arn     = "arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000003"
  }
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "EncryptForTheOnFailureDestination"]).Condition == {
      StringEquals               = { "kms:ViaService" = "sqs.eu-west-1.amazonaws.com" }
      "ForAnyValue:StringEquals" = { "kms:EncryptionContext:aws:sqs:arn" = ["arn:aws:sqs:eu-west-1:123456789012:team-failures"] }
    }
    error_message = "A given on-failure queue's key may be used through SQS for that queue only."
  }
}

run "no_kms_without_customer_keys" {
  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if anytrue([for a in s.Action : startswith(a, "kms:")])]) == 0
    error_message = "Without customer keys the role must get no KMS permission."
  }
}

run "sns_on_failure_destination" {
  variables {
    create_on_failure_queue    = false
    on_failure_destination_arn = "arn:aws:sns:eu-west-1:123456789012:fanout-failures"
    on_failure_kms_key_arn     = "arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000003"
  }
  assert {
    condition     = length(aws_sqs_queue.on_failure) == 0 && aws_lambda_event_source_mapping.this[0].destination_config[0].on_failure[0].destination_arn == "arn:aws:sns:eu-west-1:123456789012:fanout-failures"
    error_message = "A given destination replaces the module's on-failure queue."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "PublishBatchMetadataOnFailure"]).Resource == ["arn:aws:sns:eu-west-1:123456789012:fanout-failures"] && length([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "SendBatchMetadataOnFailure"]) == 0
    error_message = "sns:Publish must be on the given topic only, with no SQS on-failure grant."
  }
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "EncryptForTheOnFailureDestination"]) == {
      Sid       = "EncryptForTheOnFailureDestination"
      Effect    = "Allow"
      Action    = ["kms:GenerateDataKey", "kms:Decrypt"]
      Resource  = ["arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000003"]
      Condition = { StringEquals = { "kms:ViaService" = "sns.eu-west-1.amazonaws.com" } }
    }
    error_message = "The destination's key must be granted when given, through SNS only."
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.on_failure_messages) == 0
    error_message = "No on-failure alarm for a destination the module does not own."
  }
}

run "no_mapping_no_on_failure_grant" {
  variables {
    create_event_source_mapping = false
  }
  assert {
    condition     = toset(flatten([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s.Resource if contains(s.Action, "sqs:SendMessage")])) == toset(["arn:aws:sqs:eu-west-1:123456789012:orders-fanout-dlq"])
    error_message = "Without a mapping sqs:SendMessage must be on the DLQ only."
  }
}

run "tracing_active_adds_xray_only" {
  variables {
    tracing_mode = "Active"
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "WriteTraces"]).Action == ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    error_message = "Active tracing must grant the two X-Ray write actions."
  }
  assert {
    condition     = aws_lambda_function.this.tracing_config[0].mode == "Active"
    error_message = "tracing_mode must reach the function."
  }
}

run "custom_event_source_is_the_condition" {
  variables {
    event_source = "com.example.orders"
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "PublishToTheBus"]).Condition["ForAllValues:StringEquals"]["events:source"] == [aws_lambda_function.this.environment[0].variables.EVENT_SOURCE]
    error_message = "The events:source condition must equal EVENT_SOURCE."
  }
}

run "s3_on_failure_destination" {
  variables {
    create_on_failure_queue    = false
    on_failure_destination_arn = "arn:aws:s3:::fanout-failed-batches"
  }
  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if startswith(s.Action[0], "s3:")] == [
      { Sid = "WriteFailedBatchesToBucket", Effect = "Allow", Action = ["s3:PutObject"], Resource = ["arn:aws:s3:::fanout-failed-batches/*"], Condition = { StringEquals = { "s3:ResourceAccount" = "123456789012" } } },
      { Sid = "ListFailedBatchesBucket", Effect = "Allow", Action = ["s3:ListBucket"], Resource = ["arn:aws:s3:::fanout-failed-batches"], Condition = { StringEquals = { "s3:ResourceAccount" = "123456789012" } } },
    ]
    error_message = "An S3 destination needs s3:PutObject on its objects and s3:ListBucket on the bucket, in a bucket of this account (s3:ResourceAccount), nothing more."
  }
  assert {
    condition     = aws_lambda_event_source_mapping.this[0].destination_config[0].on_failure[0].destination_arn == "arn:aws:s3:::fanout-failed-batches" && length(aws_sqs_queue.on_failure) == 0
    error_message = "The bucket must be the mapping's on-failure destination."
  }
}

run "s3_on_failure_destination_of_another_account" {
  command = plan
  variables {
    create_on_failure_queue             = false
    on_failure_destination_arn          = "arn:aws:s3:::central-failed-batches"
    on_failure_destination_bucket_owner = "210987654321"
  }
  assert {
    condition     = toset([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s.Condition.StringEquals["s3:ResourceAccount"] if startswith(s.Action[0], "s3:")]) == toset(["210987654321"])
    error_message = "The S3 statements must require the given bucket owner."
  }
}

run "bucket_owner_must_be_an_account_id" {
  command = plan
  variables {
    on_failure_destination_bucket_owner = "12345"
  }
  expect_failures = [var.on_failure_destination_bucket_owner]
}

run "no_on_failure_destination_at_all" {
  variables {
    create_on_failure_queue = false
  }
  assert {
    condition     = length(aws_lambda_event_source_mapping.this[0].destination_config) == 0 && output.on_failure_destination_arn == null
    error_message = "Without queue or ARN the mapping has no destination."
  }
  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if strcontains(s.Sid, "OnFailure") || strcontains(s.Sid, "FailedBatches")]) == 0
    error_message = "No destination, no grant."
  }
}

run "own_queue_and_given_arn_conflict" {
  command = plan
  variables {
    on_failure_destination_arn = "arn:aws:sqs:eu-west-1:123456789012:mine"
  }
  expect_failures = [aws_sqs_queue.on_failure]
}

run "role_inputs" {
  variables {
    role_name                 = "fanout-orders"
    role_path                 = "/service-roles/"
    role_permissions_boundary = "arn:aws:iam::123456789012:policy/boundary"
  }
  assert {
    condition = (
      aws_iam_role.this[0].name == "fanout-orders" &&
      aws_iam_role.this[0].path == "/service-roles/" &&
      aws_iam_role.this[0].permissions_boundary == "arn:aws:iam::123456789012:policy/boundary"
    )
    error_message = "role_name, role_path and role_permissions_boundary must reach the role."
  }
}

run "bring_your_own_role" {
  variables {
    create_role = false
    role_arn    = "arn:aws:iam::123456789012:role/platform/fanout"
  }
  assert {
    condition     = length(aws_iam_role.this) == 0 && length(aws_iam_role_policy.this) == 0
    error_message = "create_role = false must create neither role nor policy."
  }
  assert {
    condition     = aws_lambda_function.this.role == "arn:aws:iam::123456789012:role/platform/fanout" && output.role_arn == "arn:aws:iam::123456789012:role/platform/fanout" && output.role_name == null
    error_message = "The function must run with the given role."
  }
  assert {
    condition     = toset([for s in jsondecode(output.role_policy_json).Statement : s.Sid]) == toset(["ReadTheStream", "ListStreams", "PublishToTheBus", "DeadLetterUnpublishedEvents", "SendBatchMetadataOnFailure", "WriteOwnLogs"])
    error_message = "role_policy_json must still give the policy to attach to the own role."
  }
}

run "long_names_stay_valid_and_unique_per_region" {
  variables {
    name = "a123456789a123456789a123456789a123456789a123456789"
  }
  override_data {
    target = data.aws_region.current
    values = { id = "ap-southeast-1", name = "ap-southeast-1" }
  }
  assert {
    condition     = aws_iam_role.this[0].name == "a123456789a123456789a123456789a123456789a123456789-ap-s-${substr(sha1("a123456789a123456789a123456789a123456789a123456789-ap-southeast-1"), 0, 8)}"
    error_message = "A long role name is shortened to 64 characters, got ${aws_iam_role.this[0].name}."
  }
}
