# Addresses that changed between releases, so that an upgrade moves state instead of
# destroying and re-creating. Keep every block: a root may skip releases.
#
# Queue and topic policies were keyed "<rule>/<target>" in 0.1.0 and are keyed by target
# in 0.2.0 and later. Those keys are the user's, so their moved blocks belong in the root
# (CHANGELOG.md, Migration; docs/module.md, Upgrading), e.g.
#   moved {
#     from = module.orders_fanout.aws_sqs_queue_policy.target["paid/billing"]
#     to   = module.orders_fanout.aws_sqs_queue_policy.target["billing"]
#   }

# 0.2.0 made the role optional (create_role).
moved {
  from = aws_iam_role.this
  to   = aws_iam_role.this[0]
}

moved {
  from = aws_iam_role_policy.this
  to   = aws_iam_role_policy.this[0]
}

# The created claim-check bucket (0.2.0; its policy and name record since 0.3.0) moved
# into modules/private_bucket, which the on-failure bucket shares.
moved {
  from = aws_s3_bucket.large_events[0]
  to   = module.large_event_bucket[0].aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_public_access_block.large_events[0]
  to   = module.large_event_bucket[0].aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.large_events[0]
  to   = module.large_event_bucket[0].aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.large_events[0]
  to   = module.large_event_bucket[0].aws_s3_bucket_lifecycle_configuration.this
}

moved {
  from = aws_s3_bucket_policy.large_events[0]
  to   = module.large_event_bucket[0].aws_s3_bucket_policy.this[0]
}

moved {
  from = terraform_data.large_event_bucket_name[0]
  to   = module.large_event_bucket[0].terraform_data.name
}
