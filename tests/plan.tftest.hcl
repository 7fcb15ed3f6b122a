# What a reviewer sees in `terraform plan`: the policy and environment are complete at
# plan time (computed ARNs come from mocks applied during plan).

mock_provider "aws" {
  alias           = "planned"
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  dynamodb_stream_arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2024-05-01T00:00:00.000"
}

run "policy_and_environment_in_the_plan" {
  command   = plan
  providers = { aws = aws.planned }

  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this[0].policy).Statement : s if s.Sid == "PublishToTheBus"]).Resource == ["arn:aws:events:eu-west-1:123456789012:event-bus/orders-fanout-bus"]
    error_message = "The planned policy must name the bus."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables.DLQ_URL == "https://sqs.eu-west-1.amazonaws.com/123456789012/queue"
    error_message = "The planned environment must carry the DLQ URL."
  }
  assert {
    condition     = aws_lambda_event_source_mapping.this[0].function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "The planned mapping must report batch item failures."
  }
}
