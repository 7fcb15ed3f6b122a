# Created bus, existing bus by name and by ARN, and the archive.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2024-05-01T00:00:00.000"
}

run "existing_bus_by_name" {
  variables {
    create_event_bus = false
    event_bus_name   = "shared"
    rules = {
      all = { event_pattern = jsonencode({ source = ["dynamodb.orders"] }) }
    }
  }
  assert {
    condition     = length(aws_cloudwatch_event_bus.this) == 0
    error_message = "create_event_bus = false must not create a bus."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables.EVENT_BUS_NAME == "shared"
    error_message = "EVENT_BUS_NAME must be the existing bus's name."
  }
  assert {
    condition     = output.event_bus_arn == "arn:aws:events:eu-west-1:123456789012:event-bus/shared" && output.event_bus_name == "shared"
    error_message = "The existing bus's ARN must be built from the account and the stream's region."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "PublishToTheBus"]).Resource == ["arn:aws:events:eu-west-1:123456789012:event-bus/shared"]
    error_message = "PutEvents must be granted on the existing bus only."
  }
  assert {
    condition     = aws_cloudwatch_event_rule.this["all"].event_bus_name == "shared"
    error_message = "Rules must be created on the existing bus."
  }
}

run "existing_bus_by_arn_in_another_account" {
  variables {
    create_event_bus = false
    event_bus_name   = "arn:aws:events:eu-west-1:210987654321:event-bus/central"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables.EVENT_BUS_NAME == "arn:aws:events:eu-west-1:210987654321:event-bus/central"
    error_message = "For a bus given by ARN, EVENT_BUS_NAME must be the ARN (PutEvents needs it across accounts)."
  }
  assert {
    condition     = output.event_bus_arn == "arn:aws:events:eu-west-1:210987654321:event-bus/central" && output.event_bus_name == "central"
    error_message = "Outputs must give the ARN as given and the bus name from it."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "PublishToTheBus"]).Resource == ["arn:aws:events:eu-west-1:210987654321:event-bus/central"]
    error_message = "PutEvents must be granted on the given bus ARN only."
  }
}

run "creating_a_bus_needs_a_plain_name" {
  command = plan
  variables {
    create_event_bus = true
    event_bus_name   = "arn:aws:events:eu-west-1:210987654321:event-bus/central"
  }
  expect_failures = [aws_cloudwatch_event_bus.this]
}

# The default bus exists in every account, and names starting with "aws." are AWS's own:
# CreateEventBus refuses both, so the plan does, naming the way out.
run "creating_the_default_bus_is_refused" {
  command = plan
  variables {
    create_event_bus = true
    event_bus_name   = "default"
  }
  expect_failures = [aws_cloudwatch_event_bus.this]
}

run "creating_a_bus_named_like_aws_is_refused" {
  command = plan
  variables {
    create_event_bus = true
    event_bus_name   = "aws.partner"
  }
  expect_failures = [aws_cloudwatch_event_bus.this]
}

run "archive_of_own_events" {
  variables {
    archive = { retention_days = 7 }
  }
  assert {
    condition     = aws_cloudwatch_event_archive.this[0].event_source_arn == aws_cloudwatch_event_bus.this[0].arn && aws_cloudwatch_event_archive.this[0].retention_days == 7
    error_message = "The archive must be on the bus with the given retention."
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_archive.this[0].event_pattern) == { source = ["dynamodb.orders"] }
    error_message = "The archive must keep only this function's events."
  }
  assert {
    condition     = output.archive_arn == aws_cloudwatch_event_archive.this[0].arn
    error_message = "archive_arn must be the archive's ARN."
  }
}

# 0.1.0 cut "<name>-archive" to 48 characters; later releases shorten it with a hash. A
# given name keeps such an archive (CHANGELOG.md, Migration from 0.1.0).
run "archive_keeps_a_given_name" {
  variables {
    name    = "orders-of-the-european-subsidiary-in-production"
    archive = { name = "orders-of-the-european-subsidiary-in-production-", retention_days = 7 }
  }
  assert {
    condition     = aws_cloudwatch_event_archive.this[0].name == "orders-of-the-european-subsidiary-in-production-"
    error_message = "A given archive name must be used as it is, got ${aws_cloudwatch_event_archive.this[0].name}."
  }
}

run "long_archive_name_is_shortened_with_a_hash" {
  variables {
    name    = "orders-of-the-european-subsidiary-in-production"
    archive = {}
  }
  assert {
    condition     = aws_cloudwatch_event_archive.this[0].name == "orders-of-the-european-subsidi-${substr(sha1("orders-of-the-european-subsidiary-in-production"), 0, 8)}-archive"
    error_message = "Past 48 characters the archive name is shortened with a hash, got ${aws_cloudwatch_event_archive.this[0].name}."
  }
}

run "no_archive_by_default" {
  assert {
    condition     = length(aws_cloudwatch_event_archive.this) == 0 && output.archive_arn == null
    error_message = "No archive unless asked for."
  }
}
