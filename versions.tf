terraform {
  # optional() object attributes with defaults need 1.3; `terraform test` needs 1.6+.
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.73: tags on aws_lambda_event_source_mapping (5.27 added `state` on rules).
      # < 7.0: the tests run on 5.x; 6.x was checked against its upgrade guide and
      # changes nothing this module uses (docs/module.md, Provider versions). A next
      # major is allowed once it has been checked the same way.
      version = ">= 5.73, < 7.0"
    }
  }
}
