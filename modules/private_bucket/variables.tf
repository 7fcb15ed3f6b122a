variable "name" {
  description = "The bucket's name: global, 3-63 characters of a-z 0-9 . -. Recorded at creation; a later plan with another name fails (rename_refusal) instead of replacing the bucket."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name))
    error_message = "The name must be an S3 bucket name (3-63 of a-z 0-9 . -)."
  }
}

variable "rename_refusal" {
  description = "What the plan says, in the calling module's terms, when the name changes: what the bucket is (`bucket`, e.g. \"claim-check bucket\"), what a replacement loses (`losing`), the caller's input that keeps the current name (`keep_name_with`), the caller's input that lets a bucket with objects be deleted (`force_destroy_with`) and this module call's address in the caller (`module_address`, for -replace)."
  type = object({
    bucket             = string
    losing             = string
    keep_name_with     = string
    force_destroy_with = string
    module_address     = string
  })
}

variable "force_destroy" {
  description = "Delete the bucket's objects with it on destroy or replacement. Off: a destroy fails while the bucket holds objects."
  type        = bool
  default     = false
  nullable    = false
}

variable "kms_key_arn" {
  description = "A customer managed KMS key for SSE-KMS, with an S3 Bucket Key; null: SSE-S3 (AES256)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "The kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)."
  }
}

variable "expiration" {
  description = "When objects expire: `days` after they are written, those under `prefix` (null: every object), in the lifecycle rule `rule_id`. Incomplete multipart uploads of every object are aborted after a day, in that rule when it covers every object, else in a rule of their own (abort-incomplete-uploads)."
  type = object({
    rule_id = string
    days    = number
    prefix  = optional(string)
  })
  nullable = false

  validation {
    condition     = length(var.expiration.rule_id) >= 1 && length(var.expiration.rule_id) <= 255 && var.expiration.rule_id != "abort-incomplete-uploads"
    error_message = "The expiration.rule_id must have 1-255 characters and differ from abort-incomplete-uploads."
  }
  validation {
    condition     = var.expiration.days >= 1 && floor(var.expiration.days) == var.expiration.days
    error_message = "The expiration.days must be a whole number of days, 1 or more."
  }
}

variable "tls_only" {
  description = "A bucket policy statement that denies every request without TLS (DenyRequestsWithoutTLS). Off only for a local stack whose S3 speaks plain HTTP."
  type        = bool
  default     = true
  nullable    = false
}

variable "exclusive_writer_arns" {
  description = "When not empty, a bucket policy statement (DenyWritingByOthers) denies s3:PutObject to every principal whose aws:PrincipalArn is not one of these IAM roles or users: matched by ARN, not named as principals, so a re-created role still matches. Reading, listing and deleting stay with IAM."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for a in var.exclusive_writer_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", a))])
    error_message = "Each of exclusive_writer_arns must be an IAM role or user ARN (arn:<partition>:iam::<account>:role/<path/name> or :user/...)."
  }
}

variable "tags" {
  description = "Tags of the bucket."
  type        = map(string)
  default     = {}
  nullable    = false
}
