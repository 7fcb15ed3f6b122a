"""AWS service limits the handler works within, each with its source.

Kept in one place so a limit that AWS raises is changed once.
"""

# EventBridge PutEvents: "Entries: Array Members: Minimum number of 1 item.
# Maximum number of 10 items." (EventBridge API Reference, PutEvents)
PUT_EVENTS_MAX_ENTRIES = 10

# EventBridge PutEvents request size, by the formula in "Calculating PutEvents
# event entry size" (EventBridge User Guide). 256 KB until 2026-01-29, 1 MB since.
PUT_EVENTS_MAX_BYTES = 1024 * 1024

# The same formula charges a fixed 14 bytes for the Time field when it is set.
PUT_EVENTS_TIME_BYTES = 14

# EventBridge event Source: at most 256 characters (PutEventsRequestEntry).
SOURCE_MAX_CHARS = 256

# The new custom event bus (API eventbridgev2, ARN …:event-busv2/<name>/<id>), PutEvents:
# "Entries: Array Members: Minimum number of 1 item. Maximum number of 100 items."
# (Amazon EventBridge Custom Event Bus API Reference, PutEvents; botocore's
# eventbridgev2 2025-05-15 service model, PutEventsRequestEntryList max 100).
PUT_EVENTS_V2_MAX_ENTRIES = 100

# Its request size budget is stated neither in that API reference nor in the service
# model. Assumed: the classic formula and budget (PUT_EVENTS_MAX_BYTES), with the
# SystemMetadata strings counted too. Not verified against AWS; MAX_EVENT_BYTES lowers it.
PUT_EVENTS_V2_MAX_BYTES = PUT_EVENTS_MAX_BYTES

# SystemMetadata.EventGroupId and .DeduplicationId: 1 to 128 characters each; a
# DeduplicationId needs one non-whitespace character (same model and reference).
EVENT_GROUP_ID_MAX_CHARS = 128
DEDUPLICATION_ID_MAX_CHARS = 128

# SQS SendMessageBatch: at most 10 messages per call (SQS API Reference).
SEND_MESSAGE_BATCH_MAX_ENTRIES = 10

# SQS message size: 256 KiB by default, up to 1 MiB since 2025-08. The
# aws provider 5.x caps an aws_sqs_queue's max_message_size at 262144.
SQS_DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024
SQS_MAX_MESSAGE_BYTES = 1024 * 1024

# DynamoDB Streams stream record event names (DynamoDB Streams API, Record).
EVENT_NAMES = frozenset({"INSERT", "MODIFY", "REMOVE"})
