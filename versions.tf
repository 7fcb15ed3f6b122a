terraform {
  # optional() object attributes with defaults need 1.3; `terraform test` needs 1.6+.
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.73: tags on aws_lambda_event_source_mapping (5.27 added `state` on rules).
      version = ">= 5.73"
    }
  }
}
