terraform {
  # The module that calls it requires the same (its versions.tf says why).
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.73, < 7.0"
    }
  }
}
