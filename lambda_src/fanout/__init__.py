"""Fan DynamoDB Stream records out to Amazon EventBridge, losing none.

The package follows the data: ``records`` (decode and convert), ``claim_check``
(a large event in S3, a pointer on the bus), ``delivery`` (the one engine:
``batching`` or ``ordering`` schedule requests, ``transport`` sends them,
``aws_errors`` says what to retry), ``dead_letter`` (park what can never
succeed, with the reason) and ``response`` (tell Lambda what to deliver
again); ``invocation`` runs them in that order for one batch, ``runtime``
builds them from the ``settings``, ``handler`` is Lambda's entry point.

The names below are the package's public face: the operations CLI and the
local run use these and nothing else.
"""

from fanout.claim_check import (
    POINTER_FIELD,
    ClaimCheck,
    ClaimCheckError,
    fetch_full_event,
    is_pointer,
    pointer_of,
)
from fanout.dead_letter import (
    EXHAUSTED,
    MALFORMED,
    REJECTED,
    TOO_LARGE,
    DeadLetter,
    DeadLetterQueue,
    NotADeadLetter,
    ParkedMessage,
    read_message,
)
from fanout.deadline import Deadline
from fanout.delivery import Envelope, Left, Outcome
from fanout.invocation import Invocation, invoke, process
from fanout.metrics import Counts, emf_line
from fanout.records import (
    Entry,
    MalformedRecord,
    StreamRecord,
    convert,
    decode,
    entry_size,
    iso_utc,
    jsonable,
    number,
    table_name_of,
    to_json,
    utf8_len,
)
from fanout.runtime import Clients, Runtime, build_runtime, client_config
from fanout.settings import DETAIL_FORMATS, Settings, SettingsError

__all__ = [
    "DETAIL_FORMATS",
    "EXHAUSTED",
    "MALFORMED",
    "POINTER_FIELD",
    "REJECTED",
    "TOO_LARGE",
    "ClaimCheck",
    "ClaimCheckError",
    "Clients",
    "Counts",
    "DeadLetter",
    "DeadLetterQueue",
    "Deadline",
    "Entry",
    "Envelope",
    "Invocation",
    "Left",
    "MalformedRecord",
    "NotADeadLetter",
    "Outcome",
    "ParkedMessage",
    "Runtime",
    "Settings",
    "SettingsError",
    "StreamRecord",
    "build_runtime",
    "client_config",
    "convert",
    "decode",
    "emf_line",
    "entry_size",
    "fetch_full_event",
    "invoke",
    "is_pointer",
    "iso_utc",
    "jsonable",
    "number",
    "pointer_of",
    "process",
    "read_message",
    "table_name_of",
    "to_json",
    "utf8_len",
]
