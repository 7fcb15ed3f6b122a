# The S3 on-failure destination the module can create: off by default, whole batches kept
# for expiration_days, written only by the function's role, and the queue it replaces as
# the destination is kept.

mock_provider "aws" {
  source = "./tests/mocks"
}

override_resource {
  target = aws_sqs_queue.on_failure
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:orders-fanout-on-failure"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-fanout-on-failure"
  }
}

override_resource {
  target = module.on_failure_bucket[0].aws_s3_bucket.this
  values = {
    arn = "arn:aws:s3:::orders-fanout-29c851-failed-123456789012-eu-west-1"
  }
}

variables {
  dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2024-05-01T00:00:00.000"
}

run "off_by_default_the_queue_is_the_destination" {
  assert {
    condition     = length(module.on_failure_bucket) == 0 && output.on_failure_bucket == null
    error_message = "No bucket unless on_failure_bucket.create."
  }
  assert {
    condition     = aws_lambda_event_source_mapping.this[0].destination_config[0].on_failure[0].destination_arn == aws_sqs_queue.on_failure[0].arn
    error_message = "By default failed batches go to the module's queue."
  }
  assert {
    condition     = !strcontains(aws_iam_role_policy.this[0].policy, "s3:")
    error_message = "Without a bucket the role gets no S3 permission."
  }
}

# Same state as the run above: an existing install switching its destination to a bucket.
run "a_created_bucket_becomes_the_destination_and_the_queue_stays" {
  variables {
    on_failure_bucket = { create = true }
  }
  assert {
    condition     = module.on_failure_bucket[0].bucket.bucket == "orders-fanout-${substr(sha1("orders-fanout"), 0, 6)}-failed-123456789012-eu-west-1" && output.on_failure_bucket == module.on_failure_bucket[0].bucket.bucket
    error_message = "The bucket must be <name>-<hash>-failed-<account>-<region>, got ${module.on_failure_bucket[0].bucket.bucket}."
  }
  assert {
    condition     = aws_lambda_event_source_mapping.this[0].destination_config[0].on_failure[0].destination_arn == module.on_failure_bucket[0].bucket.arn && output.on_failure_destination_arn == module.on_failure_bucket[0].bucket.arn
    error_message = "The bucket must be the mapping's one on-failure destination."
  }
  assert {
    condition     = length(aws_sqs_queue.on_failure) == 1 && length(aws_sqs_queue_policy.on_failure) == 1 && length(aws_cloudwatch_metric_alarm.on_failure_messages) == 1 && output.on_failure_queue_url == aws_sqs_queue.on_failure[0].url
    error_message = "The queue, its policy and its alarm must stay while create_on_failure_queue is true: it may hold metadata of earlier failed batches."
  }
  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if anytrue([for a in s.Action : startswith(a, "s3:")])] == [
      {
        Sid       = "WriteFailedBatchesToBucket"
        Effect    = "Allow"
        Action    = ["s3:PutObject"]
        Resource  = ["arn:aws:s3:::${module.on_failure_bucket[0].bucket.bucket}/*"]
        Condition = { StringEquals = { "s3:ResourceAccount" = "123456789012" } }
      },
      {
        Sid       = "ListFailedBatchesBucket"
        Effect    = "Allow"
        Action    = ["s3:ListBucket"]
        Resource  = ["arn:aws:s3:::${module.on_failure_bucket[0].bucket.bucket}"]
        Condition = { StringEquals = { "s3:ResourceAccount" = "123456789012" } }
      },
    ]
    error_message = "Lambda needs s3:PutObject on the bucket's objects and s3:ListBucket on the bucket, in a bucket of this account, nothing more: ${aws_iam_role_policy.this[0].policy}"
  }
  assert {
    condition     = toset(flatten([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s.Resource if contains(s.Action, "sqs:SendMessage")])) == toset(["arn:aws:sqs:eu-west-1:123456789012:orders-fanout-dlq"])
    error_message = "The role may no longer send to the queue that is not the destination any more."
  }
}

run "the_bucket_keeps_its_batches_privately" {
  variables {
    on_failure_bucket = { create = true }
  }
  assert {
    condition     = module.on_failure_bucket[0].bucket.force_destroy == false
    error_message = "By default a destroy must not delete stored batches (force_destroy = false)."
  }
  assert {
    condition = (
      module.on_failure_bucket[0].public_access_block.block_public_acls &&
      module.on_failure_bucket[0].public_access_block.block_public_policy &&
      module.on_failure_bucket[0].public_access_block.ignore_public_acls &&
      module.on_failure_bucket[0].public_access_block.restrict_public_buckets &&
      module.on_failure_bucket[0].public_access_block.bucket == module.on_failure_bucket[0].bucket.id
    )
    error_message = "All public access must be blocked."
  }
  assert {
    condition     = one(one(module.on_failure_bucket[0].server_side_encryption_configuration.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
    error_message = "Without a key the bucket must use SSE-S3."
  }
  assert {
    condition = [for r in module.on_failure_bucket[0].lifecycle_configuration.rule : {
      id = r.id, status = r.status, days = one(r.expiration).days, abort = one(r.abort_incomplete_multipart_upload).days_after_initiation
    }] == [{ id = "expire-failed-batches", status = "Enabled", days = 14, abort = 1 }]
    error_message = "Failed batches must expire after 14 days by default, incomplete uploads after a day."
  }
  assert {
    condition = jsondecode(module.on_failure_bucket[0].policy.policy) == {
      Version = "2012-10-17"
      Statement = [
        {
          Sid       = "DenyWritingByOthers"
          Effect    = "Deny"
          Principal = "*"
          Action    = "s3:PutObject"
          Resource  = "arn:aws:s3:::${module.on_failure_bucket[0].bucket.bucket}/*"
          Condition = { ArnNotEquals = { "aws:PrincipalArn" = ["arn:aws:iam::123456789012:role/orders-fanout-eu-west-1"] } }
        },
        {
          Sid       = "DenyRequestsWithoutTLS"
          Effect    = "Deny"
          Principal = "*"
          Action    = "s3:*"
          Resource  = ["arn:aws:s3:::${module.on_failure_bucket[0].bucket.bucket}", "arn:aws:s3:::${module.on_failure_bucket[0].bucket.bucket}/*"]
          Condition = { Bool = { "aws:SecureTransport" = "false" } }
        },
      ]
    } && module.on_failure_bucket[0].policy.bucket == module.on_failure_bucket[0].bucket.id
    error_message = "Only the function's role may write objects, and nothing without TLS: ${module.on_failure_bucket[0].policy.policy}"
  }
}

run "settings_and_a_customer_key_reach_the_bucket" {
  variables {
    on_failure_bucket = {
      create          = true
      expiration_days = 3
      force_destroy   = true
      kms_key_arn     = "arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000009"
    }
  }
  assert {
    condition = (
      one(one(module.on_failure_bucket[0].server_side_encryption_configuration.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms" &&
      one(one(module.on_failure_bucket[0].server_side_encryption_configuration.rule).apply_server_side_encryption_by_default).kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000009" &&
      one(module.on_failure_bucket[0].server_side_encryption_configuration.rule).bucket_key_enabled == true
    )
    error_message = "The bucket must encrypt with the given key, with an S3 Bucket Key."
  }
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "EncryptFailedBatches"]) == {
      Sid      = "EncryptFailedBatches"
      Effect   = "Allow"
      Action   = ["kms:GenerateDataKey"]
      Resource = ["arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000009"]
      Condition = {
        StringEquals = { "kms:ViaService" = "s3.eu-west-1.amazonaws.com" }
        StringLike = { "kms:EncryptionContext:aws:s3:arn" = [
          "arn:aws:s3:::${module.on_failure_bucket[0].bucket.bucket}",
          "arn:aws:s3:::${module.on_failure_bucket[0].bucket.bucket}/*",
        ] }
      }
    }
    error_message = "With a key the role may GenerateDataKey with it, through S3, for this bucket only: ${aws_iam_role_policy.this[0].policy}"
  }
  assert {
    condition     = one(module.on_failure_bucket[0].lifecycle_configuration.rule[0].expiration).days == 3 && module.on_failure_bucket[0].bucket.force_destroy == true
    error_message = "expiration_days and force_destroy must reach the bucket."
  }
}

run "the_queue_key_is_no_longer_granted_for_the_queue_that_is_not_the_destination" {
  command = plan
  variables {
    on_failure_bucket = { create = true }
    dlq               = { kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000002" }
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "EncryptForTheModuleQueues"]).Condition["ForAnyValue:StringEquals"]["kms:EncryptionContext:aws:sqs:arn"] == ["arn:aws:sqs:eu-west-1:123456789012:orders-fanout-dlq"]
    error_message = "The queues' key must be granted for the DLQ only once the bucket is the destination."
  }
}

run "the_bucket_alone" {
  command   = plan
  state_key = "bucket_only"
  variables {
    create_on_failure_queue = false
    on_failure_bucket       = { create = true }
  }
  assert {
    condition     = length(aws_sqs_queue.on_failure) == 0 && length(aws_sqs_queue_policy.on_failure) == 0 && length(module.on_failure_bucket) == 1
    error_message = "A new install can have the bucket without the queue."
  }
  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if startswith(s.Sid, "WriteFailedBatches") || startswith(s.Sid, "ListFailedBatches")]) == 2
    error_message = "The role must be granted the bucket."
  }
}

run "no_mapping_no_bucket" {
  command   = plan
  state_key = "no_mapping"
  variables {
    create_event_source_mapping = false
    on_failure_bucket           = { create = true }
  }
  assert {
    condition     = length(module.on_failure_bucket) == 0 && !strcontains(aws_iam_role_policy.this[0].policy, "s3:")
    error_message = "Without a mapping there is nothing to fail: no bucket, no grant."
  }
}

run "two_instances_get_two_buckets" {
  command   = plan
  state_key = "other_instance"
  variables {
    dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/2024-05-01T00:00:00.000"
    on_failure_bucket   = { create = true }
  }
  assert {
    condition     = module.on_failure_bucket[0].bucket.bucket == "orders-fanout-${substr(sha1("Orders-fanout"), 0, 6)}-failed-123456789012-eu-west-1"
    error_message = "Names that lowercase alike must still differ by the hash of the name as given: ${module.on_failure_bucket[0].bucket.bucket}."
  }
}

run "long_names_keep_the_bucket_name_valid" {
  command   = plan
  state_key = "long_name"
  variables {
    name              = "A_Very_Long-Function-Name-That-Goes-On-And-On-50"
    on_failure_bucket = { create = true }
  }
  override_data {
    target = data.aws_region.current
    values = { id = "ap-southeast-5", name = "ap-southeast-5" }
  }
  assert {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", module.on_failure_bucket[0].bucket.bucket))
    error_message = "The bucket name must be a valid S3 name, got ${module.on_failure_bucket[0].bucket.bucket}."
  }
}

# The bucket's module (modules/private_bucket) refuses a rename; expect_failures can name
# only this module's own objects, so these two runs plan that module alone: the bucket as
# on_failure_bucket.tf creates it, then under the name it would get from name = "orders-renamed".
run "the_created_bucket_records_its_name" {
  module {
    source = "./modules/private_bucket"
  }
  variables {
    name                  = "orders-fanout-${substr(sha1("orders-fanout"), 0, 6)}-failed-123456789012-eu-west-1"
    expiration            = { rule_id = "expire-failed-batches", days = 14 }
    exclusive_writer_arns = ["arn:aws:iam::123456789012:role/orders-fanout-eu-west-1"]
    rename_refusal = {
      bucket             = "on-failure bucket"
      losing             = "the failed batches it keeps"
      keep_name_with     = "on_failure_bucket.name"
      force_destroy_with = "on_failure_bucket.force_destroy"
      module_address     = "module.on_failure_bucket[0]"
    }
  }
}

run "renaming_the_module_is_refused_while_the_bucket_would_follow" {
  command = plan
  module {
    source = "./modules/private_bucket"
  }
  variables {
    name                  = "orders-renamed-${substr(sha1("orders-renamed"), 0, 6)}-failed-123456789012-eu-west-1"
    expiration            = { rule_id = "expire-failed-batches", days = 14 }
    exclusive_writer_arns = ["arn:aws:iam::123456789012:role/orders-fanout-eu-west-1"]
    rename_refusal = {
      bucket             = "on-failure bucket"
      losing             = "the failed batches it keeps"
      keep_name_with     = "on_failure_bucket.name"
      force_destroy_with = "on_failure_bucket.force_destroy"
      module_address     = "module.on_failure_bucket[0]"
    }
  }
  expect_failures = [aws_s3_bucket.this]
}

run "renaming_keeps_the_bucket_when_its_name_is_pinned" {
  command = plan
  variables {
    name              = "orders-renamed"
    on_failure_bucket = { create = true, name = "orders-fanout-${substr(sha1("orders-fanout"), 0, 6)}-failed-123456789012-eu-west-1" }
  }
  assert {
    condition     = module.on_failure_bucket[0].bucket.bucket == "orders-fanout-${substr(sha1("orders-fanout"), 0, 6)}-failed-123456789012-eu-west-1" && aws_lambda_function.this.function_name == "orders-renamed"
    error_message = "on_failure_bucket.name must keep the bucket through a rename."
  }
}

run "bucket_and_given_destination_conflict" {
  command   = plan
  state_key = "conflict"
  variables {
    create_on_failure_queue    = false
    on_failure_bucket          = { create = true }
    on_failure_destination_arn = "arn:aws:s3:::somewhere-else"
  }
  expect_failures = [aws_lambda_event_source_mapping.this]
}

run "bucket_name_is_validated" {
  command = plan
  variables {
    on_failure_bucket = { create = true, name = "Not_A_Bucket" }
  }
  expect_failures = [var.on_failure_bucket]
}

run "expiration_is_validated" {
  command = plan
  variables {
    on_failure_bucket = { create = true, expiration_days = 0 }
  }
  expect_failures = [var.on_failure_bucket]
}

run "key_must_be_a_key_arn" {
  command = plan
  variables {
    on_failure_bucket = { create = true, kms_key_arn = "alias/failed-batches" }
  }
  expect_failures = [var.on_failure_bucket]
}
