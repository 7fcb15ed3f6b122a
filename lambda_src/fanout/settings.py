"""The handler's settings: read from the environment once, validated, immutable.

A missing or bad value stops the function at start with a message that names
the variable and what is allowed, instead of failing later on some record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from fanout import limits

DETAIL_FORMATS = ("plain", "raw", "both")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MAX_ATTEMPTS_RANGE = (1, 10)
PUBLISH_CONCURRENCY_RANGE = (1, 64)
# The event source mapping's own ranges (Lambda parameters for DynamoDB event source mappings).
RECORD_AGE_RANGE = (60, 604_800)
RETRY_ATTEMPTS_RANGE = (0, 10_000)
# Event groups of a table on the new custom event bus (fanout.ordering). AWS's guide asks
# for bounded group ids ("for example a customer identifier or an order identifier"),
# not ids from unbounded input; each group is limited to 1,500 events plus KB per
# second ("Amazon EventBridge quotas", not adjustable), and a stuck event holds up only
# its own group. 10,000 buckets of the item key: bounded per table, a stuck item holds
# back a ten-thousandth of the table, a group never nears its quota (the table's whole
# default on-demand maximum, 40,000 writes/s of 1 KB, is 8 events+KB/s per group), and
# two items of a 100-record batch rarely share a group (each shared group serialises
# their changes into one more request).
EVENT_GROUPS_DEFAULT = 10_000
EVENT_GROUPS_RANGE = (1, 1_000_000)

_BUS_NAME = re.compile(r"[/.\-_A-Za-z0-9]{1,256}")
_BUS_ARN = re.compile(
    r"arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/(?P<name>[/.\-_A-Za-z0-9]{1,256})"
)
# The new custom event bus, as botocore's eventbridgev2 model writes its EventBusArn.
_BUS_V2_ARN = re.compile(
    r"arn:aws(-[a-z0-9]+)*:events:[a-z][a-z0-9]*(-[a-z0-9]+)*:[0-9]{12}:"
    r"event-busv2/[A-Za-z0-9][.\-_A-Za-z0-9]{0,255}/[a-z0-9]{25}"
)
_QUEUE_URL = re.compile(r"https?://\S+/\S+")
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_ACCOUNT = re.compile(r"[0-9]{12}")
_KEY_PREFIX = re.compile(r"[A-Za-z0-9!_.*'()/-]{0,199}/")
DEFAULT_LARGE_EVENT_PREFIX = "large-events/"
MIN_EVENT_SIZE = 1024  # a claim-check pointer alone is several hundred bytes


class SettingsError(ValueError):
    """The environment does not describe a usable configuration."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the handler needs to know, from its environment (docs/module.md)."""

    event_bus_name: str
    dlq_url: str
    event_source: str | None = None  # None: "dynamodb.<table name>" per record
    max_attempts: int = 3
    detail_format: str = "plain"
    max_event_bytes: int = limits.PUT_EVENTS_MAX_BYTES
    dlq_max_bytes: int = limits.SQS_DEFAULT_MAX_MESSAGE_BYTES
    publish_concurrency: int = 8
    log_level: str = "INFO"
    max_event_size: int | None = None  # None: max_event_bytes
    large_event_bucket: str | None = None  # None: no claim-check, too large goes to the DLQ
    large_event_prefix: str = DEFAULT_LARGE_EVENT_PREFIX
    # The account that owns the bucket: every S3 call names it (ExpectedBucketOwner), so a
    # bucket of the same name in another account is never written to. None: not checked.
    large_event_bucket_owner: str | None = None
    # The mapping's limits, for the safety valve (fanout.valve); None: no limit (-1).
    maximum_record_age_s: int | None = None
    maximum_retry_attempts: int | None = None
    event_groups: int = EVENT_GROUPS_DEFAULT  # the ordered bus: EventGroupIds per table

    @property
    def event_size_limit(self) -> int:
        """Entries of this size or more are too large (claim-checked or dead-lettered)."""
        if self.max_event_size is None:
            return self.max_event_bytes
        return min(self.max_event_size, self.max_event_bytes)

    @property
    def event_bus_region(self) -> str | None:
        """The region in an event bus ARN, so a bus elsewhere is called there."""
        match = _BUS_ARN.fullmatch(self.event_bus_name) or self.ordered
        return self.event_bus_name.split(":")[3] if match else None

    @property
    def ordered(self) -> bool:
        """The bus is a new custom event bus: FIFO per item, de-duplicated (eventbridgev2)."""
        return _BUS_V2_ARN.fullmatch(self.event_bus_name) is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read and validate; raise SettingsError listing every problem at once."""
        reader = _Reader(env)
        settings = cls(
            event_bus_name=reader.event_bus_name(),
            dlq_url=reader.queue_url("DLQ_URL"),
            event_source=reader.event_source(),
            max_attempts=reader.integer("MAX_ATTEMPTS", 3, *MAX_ATTEMPTS_RANGE),
            detail_format=reader.choice("DETAIL_FORMAT", "plain", DETAIL_FORMATS),
            max_event_bytes=reader.integer(
                "MAX_EVENT_BYTES", limits.PUT_EVENTS_MAX_BYTES, 1, limits.PUT_EVENTS_MAX_BYTES
            ),
            dlq_max_bytes=reader.integer(
                "DLQ_MAX_BYTES",
                limits.SQS_DEFAULT_MAX_MESSAGE_BYTES,
                1024,
                limits.SQS_MAX_MESSAGE_BYTES,
            ),
            publish_concurrency=reader.integer(
                "PUBLISH_CONCURRENCY", 8, *PUBLISH_CONCURRENCY_RANGE
            ),
            log_level=reader.choice("LOG_LEVEL", "INFO", LOG_LEVELS, upper=True),
            max_event_size=reader.optional_integer(
                "MAX_EVENT_SIZE", MIN_EVENT_SIZE, limits.PUT_EVENTS_MAX_BYTES
            ),
            large_event_bucket=reader.bucket_name("LARGE_EVENT_BUCKET"),
            large_event_prefix=reader.key_prefix("LARGE_EVENT_PREFIX", DEFAULT_LARGE_EVENT_PREFIX),
            large_event_bucket_owner=reader.account("LARGE_EVENT_BUCKET_OWNER"),
            maximum_record_age_s=reader.limit("MAXIMUM_RECORD_AGE_IN_SECONDS", *RECORD_AGE_RANGE),
            maximum_retry_attempts=reader.limit("MAXIMUM_RETRY_ATTEMPTS", *RETRY_ATTEMPTS_RANGE),
            event_groups=reader.integer("EVENT_GROUPS", EVENT_GROUPS_DEFAULT, *EVENT_GROUPS_RANGE),
        )
        if reader.problems:
            raise SettingsError("invalid configuration: " + "; ".join(reader.problems))
        return settings


class _Reader:
    """Collects problems instead of stopping at the first, so one deploy fixes all."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def _get(self, name: str) -> str | None:
        value = self.env.get(name, "").strip()
        return value or None

    def required(self, name: str, what: str) -> str:
        value = self._get(name)
        if value is None:
            self.problems.append(f"{name} is required ({what})")
            return ""
        return value

    def event_bus_name(self) -> str:
        value = self.required("EVENT_BUS_NAME", "an event bus name or ARN")
        known = _BUS_NAME.fullmatch(value) or _BUS_ARN.fullmatch(value)
        if value and not (known or _BUS_V2_ARN.fullmatch(value)):
            self.problems.append(
                f"EVENT_BUS_NAME={value!r} is neither an event bus name "
                "(1-256 of A-Z a-z 0-9 . - _ /) nor an event bus ARN "
                "(…:event-bus/<name>, or …:event-busv2/<name>/<25-character id>)"
            )
        return value

    def queue_url(self, name: str) -> str:
        value = self.required(name, "an SQS queue URL")
        if value and not _QUEUE_URL.fullmatch(value):
            self.problems.append(f"{name}={value!r} is not an SQS queue URL (https://…/…)")
        return value

    def event_source(self) -> str | None:
        value = self._get("EVENT_SOURCE")
        if value is None:
            return None
        if value.startswith("aws."):
            self.problems.append(
                f"EVENT_SOURCE={value!r} must not start with 'aws.' (reserved for AWS services)"
            )
        if len(value) > limits.SOURCE_MAX_CHARS:
            self.problems.append(
                f"EVENT_SOURCE is {len(value)} characters; at most {limits.SOURCE_MAX_CHARS}"
            )
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self._get(name)
        if raw is None:
            return default
        # int() also takes "+3", "3_0", " 3" and other scripts' digits ("٣"): not here.
        value = int(raw) if raw.isascii() and raw.isdigit() else None
        if value is None or not low <= value <= high:
            self.problems.append(f"{name}={raw!r} must be a whole number from {low} to {high}")
            return default
        return value

    def optional_integer(self, name: str, low: int, high: int) -> int | None:
        if self._get(name) is None:
            return None
        before = len(self.problems)
        value = self.integer(name, low, low, high)
        return None if len(self.problems) > before else value

    def limit(self, name: str, low: int, high: int) -> int | None:
        """An event source mapping limit: -1 (or unset) is none."""
        if self._get(name) in (None, "-1"):
            return None
        before = len(self.problems)
        value = self.integer(name, low, low, high)
        if len(self.problems) > before:
            raw = self.env[name].strip()
            self.problems[-1] = f"{name}={raw!r} must be -1 or a whole number from {low} to {high}"
            return None
        return value

    def bucket_name(self, name: str) -> str | None:
        value = self._get(name)
        if value is not None and not _BUCKET_NAME.fullmatch(value):
            self.problems.append(
                f"{name}={value!r} is not an S3 bucket name (3-63 of a-z 0-9 . -; not an ARN)"
            )
            return None
        return value

    def account(self, name: str) -> str | None:
        value = self._get(name)
        if value is not None and not _ACCOUNT.fullmatch(value):
            self.problems.append(f"{name}={value!r} is not an AWS account id (12 digits)")
            return None
        return value

    def key_prefix(self, name: str, default: str) -> str:
        value = self._get(name)
        if value is None:
            return default
        if not _KEY_PREFIX.fullmatch(value) or value.startswith("/"):
            self.problems.append(
                f"{name}={value!r} must be a key prefix ending in '/' "
                "(at most 200 of A-Z a-z 0-9 ! _ . * ' ( ) - /, not starting with '/')"
            )
            return default
        return value

    def choice(self, name: str, default: str, allowed: tuple[str, ...], upper: bool = False) -> str:
        raw = self._get(name)
        if raw is None:
            return default
        value = raw.upper() if upper else raw
        if value not in allowed:
            self.problems.append(f"{name}={raw!r} must be one of: {', '.join(allowed)}")
            return default
        return value
