# Claim-check of large events: off by default; with a bucket (given or created) the
# function may s3:PutObject under the prefix and nothing else, and learns where to write.

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

run "off_by_default" {
  command = plan

  assert {
    condition     = length(module.large_event_bucket) == 0 && length(aws_iam_role_policy.claim_check) == 0
    error_message = "No bucket and no S3 permission unless claim-check is asked for."
  }
  assert {
    condition     = length(setintersection(keys(aws_lambda_function.this.environment[0].variables), ["LARGE_EVENT_BUCKET", "LARGE_EVENT_PREFIX", "LARGE_EVENT_BUCKET_OWNER", "MAX_EVENT_SIZE"])) == 0
    error_message = "Claim-check settings must not reach the function when it is off."
  }
  assert {
    condition     = output.large_event_bucket == null && output.large_event_reader_policy_json == null
    error_message = "Claim-check outputs must be null when it is off."
  }
}

run "existing_bucket_gets_put_object_on_its_tables_objects_only" {
  variables {
    large_event_bucket = "my-large-events"
  }

  assert {
    condition     = length(module.large_event_bucket) == 0
    error_message = "A given bucket must not be created."
  }
  assert {
    condition = jsondecode(aws_iam_role_policy.claim_check[0].policy) == {
      Version = "2012-10-17"
      Statement = [{
        Sid       = "StoreLargeEvents"
        Effect    = "Allow"
        Action    = ["s3:PutObject"]
        Resource  = ["arn:aws:s3:::my-large-events/large-events/orders/*"]
        Condition = { StringEquals = { "s3:ResourceAccount" = "123456789012" } }
      }]
    }
    error_message = "The function may only s3:PutObject under <prefix><table>/, in a bucket of this account: ${aws_iam_role_policy.claim_check[0].policy}"
  }
  assert {
    condition     = aws_iam_role_policy.claim_check[0].role == aws_iam_role.this[0].id
    error_message = "The S3 policy must be on the function's role."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["LARGE_EVENT_BUCKET"] == "my-large-events" && aws_lambda_function.this.environment[0].variables["LARGE_EVENT_PREFIX"] == "large-events/" && aws_lambda_function.this.environment[0].variables["LARGE_EVENT_BUCKET_OWNER"] == "123456789012"
    error_message = "The function must learn the bucket, the prefix and the bucket's owner (this account by default)."
  }
  assert {
    condition     = !contains(keys(aws_lambda_function.this.environment[0].variables), "MAX_EVENT_SIZE")
    error_message = "MAX_EVENT_SIZE is set only when max_event_size is."
  }
  assert {
    condition     = !strcontains(aws_iam_role_policy.this[0].policy, "s3:")
    error_message = "The main policy must not gain S3 permissions."
  }
  assert {
    condition = jsondecode(output.large_event_reader_policy_json).Statement == [{
      Sid       = "ReadLargeEvents"
      Effect    = "Allow"
      Action    = ["s3:GetObject"]
      Resource  = ["arn:aws:s3:::my-large-events/large-events/orders/*"]
      Condition = { StringEquals = { "s3:ResourceAccount" = "123456789012" } }
    }]
    error_message = "Consumers' policy must be s3:GetObject on this table's objects, in a bucket of this account."
  }
}

run "created_bucket_is_private_encrypted_and_expiring" {
  variables {
    create_large_event_bucket   = true
    large_event_prefix          = "claims/"
    large_event_expiration_days = 3
  }

  assert {
    condition     = module.large_event_bucket[0].bucket.bucket == "orders-fanout-${substr(sha1("orders-fanout"), 0, 6)}-large-123456789012-eu-west-1"
    error_message = "The bucket name must be <name>-<hash>-large-<account>-<region>, got ${module.large_event_bucket[0].bucket.bucket}."
  }
  assert {
    condition     = length(module.large_event_bucket[0].bucket.bucket) <= 63
    error_message = "Bucket names have at most 63 characters."
  }
  assert {
    condition = (
      module.large_event_bucket[0].public_access_block.block_public_acls &&
      module.large_event_bucket[0].public_access_block.block_public_policy &&
      module.large_event_bucket[0].public_access_block.ignore_public_acls &&
      module.large_event_bucket[0].public_access_block.restrict_public_buckets
    )
    error_message = "All public access must be blocked."
  }
  assert {
    condition     = one(one(module.large_event_bucket[0].server_side_encryption_configuration.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
    error_message = "Without a key the bucket must use SSE-S3."
  }
  assert {
    condition     = one([for r in module.large_event_bucket[0].lifecycle_configuration.rule : one(r.expiration).days if r.id == "expire-large-events" && r.status == "Enabled" && one(r.filter).prefix == "claims/"]) == 3
    error_message = "Objects under the prefix must expire after large_event_expiration_days."
  }
  assert {
    condition     = one([for r in module.large_event_bucket[0].lifecycle_configuration.rule : one(r.abort_incomplete_multipart_upload).days_after_initiation if r.id == "abort-incomplete-uploads" && r.status == "Enabled"]) == 1
    error_message = "Incomplete uploads must be aborted after a day."
  }
  assert {
    condition = jsondecode(aws_iam_role_policy.claim_check[0].policy).Statement == [{
      Sid       = "StoreLargeEvents"
      Effect    = "Allow"
      Action    = ["s3:PutObject"]
      Resource  = ["arn:aws:s3:::${module.large_event_bucket[0].bucket.bucket}/claims/orders/*"]
      Condition = { StringEquals = { "s3:ResourceAccount" = "123456789012" } }
    }]
    error_message = "PutObject must be on the created bucket's <prefix><table>/ only, owned by this account: ${aws_iam_role_policy.claim_check[0].policy}"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["LARGE_EVENT_BUCKET"] == module.large_event_bucket[0].bucket.bucket && output.large_event_bucket == module.large_event_bucket[0].bucket.bucket
    error_message = "The function must write to the created bucket."
  }
}

run "customer_key_encrypts_and_is_granted" {
  variables {
    create_large_event_bucket = true
    large_event_kms_key_arn   = "arn:aws:kms:eu-west-1:123456789012:key/1111-2222"
  }

  assert {
    condition     = one(one(module.large_event_bucket[0].server_side_encryption_configuration.rule).apply_server_side_encryption_by_default).kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/1111-2222"
    error_message = "The created bucket must encrypt with the customer key."
  }
  assert {
    condition = jsondecode(aws_iam_role_policy.claim_check[0].policy).Statement[1] == {
      Sid      = "EncryptLargeEvents"
      Effect   = "Allow"
      Action   = ["kms:GenerateDataKey"]
      Resource = ["arn:aws:kms:eu-west-1:123456789012:key/1111-2222"]
      Condition = {
        StringEquals = { "kms:ViaService" = "s3.eu-west-1.amazonaws.com" }
        StringLike = { "kms:EncryptionContext:aws:s3:arn" = [
          "arn:aws:s3:::${module.large_event_bucket[0].bucket.bucket}",
          "arn:aws:s3:::${module.large_event_bucket[0].bucket.bucket}/large-events/orders/*",
        ] }
      }
    }
    error_message = "With a customer key the function may GenerateDataKey with that key only, through S3, for this bucket only."
  }
  assert {
    condition     = jsondecode(output.large_event_reader_policy_json).Statement[1].Condition == jsondecode(aws_iam_role_policy.claim_check[0].policy).Statement[1].Condition && jsondecode(output.large_event_reader_policy_json).Statement[1].Action == ["kms:Decrypt"]
    error_message = "Readers may Decrypt with the key only through S3, for this bucket only."
  }
}

run "bucket_keeps_its_events_and_refuses_plain_http" {
  variables {
    create_large_event_bucket = true
  }

  assert {
    condition     = module.large_event_bucket[0].bucket.force_destroy == false
    error_message = "By default a destroy must not delete stored events (force_destroy = false)."
  }
  assert {
    condition = jsondecode(module.large_event_bucket[0].policy.policy).Statement == [{
      Sid       = "DenyRequestsWithoutTLS"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = ["arn:aws:s3:::${module.large_event_bucket[0].bucket.bucket}", "arn:aws:s3:::${module.large_event_bucket[0].bucket.bucket}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }] && module.large_event_bucket[0].policy.bucket == module.large_event_bucket[0].bucket.id
    error_message = "The bucket must deny every request without TLS, on the bucket and its objects."
  }
}

# The bucket's module (modules/private_bucket) refuses a rename; expect_failures can name
# only this module's own objects, so these two runs plan that module alone: the bucket as
# claim_check.tf creates it, then under the name it would get from name = "orders-renamed".
run "the_created_bucket_records_its_name" {
  module {
    source = "./modules/private_bucket"
  }
  variables {
    name       = "orders-fanout-${substr(sha1("orders-fanout"), 0, 6)}-large-123456789012-eu-west-1"
    expiration = { rule_id = "expire-large-events", prefix = "large-events/", days = 14 }
    rename_refusal = {
      bucket             = "claim-check bucket"
      losing             = "its stored events"
      keep_name_with     = "large_event_bucket_name"
      force_destroy_with = "large_event_bucket_force_destroy"
      module_address     = "module.large_event_bucket[0]"
    }
  }
}

run "renaming_the_module_is_refused_while_the_bucket_would_follow" {
  command = plan
  module {
    source = "./modules/private_bucket"
  }
  variables {
    name       = "orders-renamed-${substr(sha1("orders-renamed"), 0, 6)}-large-123456789012-eu-west-1"
    expiration = { rule_id = "expire-large-events", prefix = "large-events/", days = 14 }
    rename_refusal = {
      bucket             = "claim-check bucket"
      losing             = "its stored events"
      keep_name_with     = "large_event_bucket_name"
      force_destroy_with = "large_event_bucket_force_destroy"
      module_address     = "module.large_event_bucket[0]"
    }
  }
  expect_failures = [aws_s3_bucket.this]
}

run "renaming_keeps_the_bucket_when_its_name_is_pinned" {
  command = plan
  variables {
    create_large_event_bucket = true
    name                      = "orders-renamed"
    large_event_bucket_name   = "orders-fanout-${substr(sha1("orders-fanout"), 0, 6)}-large-123456789012-eu-west-1"
  }
  assert {
    condition     = module.large_event_bucket[0].bucket.bucket == "orders-fanout-${substr(sha1("orders-fanout"), 0, 6)}-large-123456789012-eu-west-1" && aws_lambda_function.this.function_name == "orders-renamed"
    error_message = "large_event_bucket_name must keep the bucket through a rename."
  }
}

run "tls_only_policy_can_be_left_out_for_a_local_stack" {
  command   = plan
  state_key = "plain_http"
  variables {
    create_large_event_bucket   = true
    large_event_bucket_tls_only = false
  }
  assert {
    condition     = module.large_event_bucket[0].policy == null && length(module.large_event_bucket) == 1
    error_message = "large_event_bucket_tls_only = false leaves the bucket without the TLS policy."
  }
}

run "force_destroy_is_the_users_choice" {
  command   = plan
  state_key = "force_destroy"
  variables {
    create_large_event_bucket        = true
    large_event_bucket_force_destroy = true
  }
  assert {
    condition     = module.large_event_bucket[0].bucket.force_destroy == true
    error_message = "large_event_bucket_force_destroy must reach the bucket."
  }
}

run "event_size_cap_reaches_the_function" {
  command = plan
  variables {
    large_event_bucket = "my-large-events"
    max_event_size     = 262144
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["MAX_EVENT_SIZE"] == "262144"
    error_message = "max_event_size must reach the function as MAX_EVENT_SIZE."
  }
}

run "event_size_cap_never_exceeds_the_request_budget" {
  command = plan
  variables {
    max_event_size  = 900000
    max_event_bytes = 262144
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["MAX_EVENT_SIZE"] == "262144"
    error_message = "MAX_EVENT_SIZE must be at most MAX_EVENT_BYTES."
  }
}

run "bucket_given_and_created_is_refused" {
  command = plan
  variables {
    large_event_bucket        = "my-large-events"
    create_large_event_bucket = true
  }
  expect_failures = [aws_lambda_function.this]
}

run "bucket_arn_is_refused" {
  command = plan
  variables {
    large_event_bucket = "arn:aws:s3:::my-large-events"
  }
  expect_failures = [var.large_event_bucket]
}

run "prefix_must_end_with_a_slash" {
  command = plan
  variables {
    large_event_prefix = "large-events"
  }
  expect_failures = [var.large_event_prefix]
}

run "cap_is_validated" {
  command = plan
  variables {
    max_event_size = 2000000
  }
  expect_failures = [var.max_event_size]
}

run "long_names_keep_the_bucket_name_valid" {
  command   = plan
  state_key = "long_name" # a fresh root: in the shared state this would be a rename
  variables {
    name                      = "A_Very_Long-Function-Name-That-Goes-On-And-On-50"
    create_large_event_bucket = true
  }

  assert {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", module.large_event_bucket[0].bucket.bucket))
    error_message = "The bucket name must be a valid S3 name, got ${module.large_event_bucket[0].bucket.bucket}."
  }
}

run "own_role_gets_the_policy_as_an_output" {
  command = plan
  variables {
    create_role        = false
    role_arn           = "arn:aws:iam::123456789012:role/my-fanout"
    large_event_bucket = "my-large-events"
  }

  assert {
    condition     = length(aws_iam_role_policy.claim_check) == 0
    error_message = "No policy is attached when the role is the user's."
  }
  assert {
    condition     = jsondecode(output.large_event_writer_policy_json).Statement == [{ Sid = "StoreLargeEvents", Effect = "Allow", Action = ["s3:PutObject"], Resource = ["arn:aws:s3:::my-large-events/large-events/orders/*"], Condition = { StringEquals = { "s3:ResourceAccount" = "123456789012" } } }]
    error_message = "large_event_writer_policy_json must be the claim-check policy for the user's role."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["LARGE_EVENT_BUCKET"] == "my-large-events"
    error_message = "The function must still learn the bucket."
  }
}

# Two instances sharing a bucket and a prefix: each may write and read its own table's
# objects only, keyed as the handler keys them (<prefix><table>/...).
run "instances_sharing_a_bucket_reach_only_their_own_table" {
  command = plan
  variables {
    dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/payments.eu/stream/2024-05-01T00:00:00.000"
    table_name          = "payments.eu"
    large_event_bucket  = "shared-large-events"
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.claim_check[0].policy).Statement[0].Resource == ["arn:aws:s3:::shared-large-events/large-events/payments.eu/*"]
    error_message = "The writer policy must name this table's objects only: ${aws_iam_role_policy.claim_check[0].policy}"
  }
  assert {
    condition     = jsondecode(output.large_event_reader_policy_json).Statement[0].Resource == ["arn:aws:s3:::shared-large-events/large-events/payments.eu/*"]
    error_message = "The reader policy must name this table's objects only."
  }
  assert {
    condition = alltrue([for doc in [aws_iam_role_policy.claim_check[0].policy, output.large_event_reader_policy_json] : alltrue([
      for s in jsondecode(doc).Statement : !anytrue([for r in s.Resource : endswith(r, "/large-events/*")])
    ])])
    error_message = "No statement may cover every table's objects (<bucket>/<prefix>*)."
  }
}

run "a_bucket_of_another_account_is_named_as_its_owner" {
  command = plan
  variables {
    large_event_bucket       = "central-large-events"
    large_event_bucket_owner = "210987654321"
    large_event_kms_key_arn  = "arn:aws:kms:eu-west-1:210987654321:key/1111-2222"
  }
  assert {
    condition = alltrue([for s in concat(jsondecode(aws_iam_role_policy.claim_check[0].policy).Statement, jsondecode(output.large_event_reader_policy_json).Statement) :
    s.Condition.StringEquals["s3:ResourceAccount"] == "210987654321" if startswith(s.Action[0], "s3:")])
    error_message = "Every S3 statement must require the given owner: ${aws_iam_role_policy.claim_check[0].policy}"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["LARGE_EVENT_BUCKET_OWNER"] == "210987654321"
    error_message = "LARGE_EVENT_BUCKET_OWNER must be the given owner."
  }
}

run "the_created_bucket_has_no_other_owner" {
  command = plan
  variables {
    create_large_event_bucket = true
    large_event_bucket_owner  = "210987654321"
  }
  expect_failures = [aws_lambda_function.this]
}

run "owner_must_be_an_account_id" {
  command = plan
  variables {
    large_event_bucket       = "my-large-events"
    large_event_bucket_owner = "central"
  }
  expect_failures = [var.large_event_bucket_owner]
}
