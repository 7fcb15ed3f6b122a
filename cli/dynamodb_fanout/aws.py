"""boto3 clients from the global options: --region, --profile, --endpoint-url.

The region of a call comes from the resource when its name carries one (a
queue URL, a bus or stream ARN), else from --region, else from AWS_REGION,
AWS_DEFAULT_REGION or the profile (AWS_REGION first, as the AWS CLI and the
Lambda runtime read it; boto3 alone reads only AWS_DEFAULT_REGION);
so `redrive --queue-url https://sqs.eu-west-1…` needs no --region at all.

``runtime_for`` builds the one delivery runtime a command publishes with: the
handler's own engine (``fanout.build_runtime``) over the CLI's clients. Every
S3 client the CLI makes names the account that must own the bucket
(``ExpectedBucketOwner`` on every call), so an object is never read from or
written to a bucket someone else owns under the same name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from dynamodb_fanout.errors import CliError, error_code
from dynamodb_fanout.moto_stack import DUMMY_CREDENTIALS, REGION

if TYPE_CHECKING:  # the local run imports this module without the handler's package
    from fanout import Runtime, Settings

# https://sqs.<region>.amazonaws.com/<account>/<name>, the legacy
# https://<region>.queue.amazonaws.com/…, and any endpoint's http://host/<account>/<name>.
_QUEUE_URL = re.compile(r"https?://(?P<host>[^/\s]+)/(?P<account>[^/\s]+)/(?P<name>[^/\s]+)/?")
_QUEUE_HOST_REGION = re.compile(r"(?:sqs[.-])?(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)[.](?:queue[.])?")
_ARN_REGION = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:(?P<region>[a-z0-9-]*):")

_ACCOUNT = re.compile(r"\d{12}")

# Calls other than PutEvents: botocore's standard retries are right for an operator's tool.
STANDARD = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5)
# PutEvents as the handler makes it (the engine retries per entry), but with the
# patience of a command, which has no Lambda deadline to keep.
PUBLISH_TIMEOUTS = Config(connect_timeout=5, read_timeout=60)


def queue_url(text: str, what: str = "queue URL") -> str:
    """Check the shape of an SQS queue URL before any call is made."""
    if not _QUEUE_URL.fullmatch(text or ""):
        raise CliError(
            f"{text!r} is not an SQS {what} (https://sqs.<region>.amazonaws.com/<account>/<name>)"
        )
    return text.rstrip("/")


def region_of_queue(url: str) -> str | None:
    """The region in an AWS queue URL's host name, None for other endpoints."""
    match = _QUEUE_URL.fullmatch(url)
    host = match.group("host") if match else ""
    found = _QUEUE_HOST_REGION.match(host) if host.endswith("amazonaws.com") else None
    return found.group("region") if found else None


def visible_messages(sqs: Any, url: str) -> int:
    """ApproximateNumberOfMessages; a clear error if the queue does not exist."""
    try:
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
    except Exception as exc:
        if error_code(exc) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            raise CliError(
                f"queue {url} does not exist in {sqs.meta.region_name} (QueueDoesNotExist)"
            ) from None
        raise
    return int(attributes.get("ApproximateNumberOfMessages", 0))


def require_bus(aws: Aws, settings: Settings) -> None:
    """An event bus that does not exist is the operator's to fix first: a clear error.

    A classic bus is asked with events:DescribeEventBus; an event-busv2 ARN with
    eventbridgev2's DescribeEventBus, where only a clear "not found" stops the
    command (an endpoint or a role that cannot answer leaves it to PutEvents).
    """
    bus = settings.event_bus_name
    region = settings.event_bus_region
    try:
        if settings.ordered:
            aws.client("eventbridgev2", region).describe_event_bus(EventBusArn=bus)
        else:
            aws.client("events", region).describe_event_bus(Name=bus)
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise CliError(
                f"event bus {bus!r} does not exist in {aws.region_for(region)}: create it "
                "again (terraform apply) or pass --event-bus"
            ) from None
        if settings.ordered:
            return
        raise


def region_of_arn(arn: str) -> str | None:
    match = _ARN_REGION.match(arn or "")
    return match.group("region") or None if match else None


def account_of_arn(arn: str) -> str | None:
    """The account id in an ARN (arn:partition:service:region:account:…), if it has one."""
    parts = (arn or "").split(":")
    return parts[4] if len(parts) > 5 and _ACCOUNT.fullmatch(parts[4]) else None


def _expect_owner(owner: str) -> Any:
    """A botocore handler that adds ExpectedBucketOwner to every S3 call that takes it."""

    def handler(params: dict[str, Any], model: Any, **_: Any) -> None:
        if "ExpectedBucketOwner" in model.input_shape.members:
            params.setdefault("ExpectedBucketOwner", owner)

    return handler


@dataclass
class Aws:
    """One session for the run; clients made on demand, per service and region."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    _session: Any = field(default=None, repr=False)
    _clients: dict[tuple[str, str, str], Any] = field(default_factory=dict, repr=False)
    _account: str | None = field(default=None, repr=False)

    @classmethod
    def local(cls, endpoint_url: str, region: str = REGION) -> Aws:
        """At a local moto_server: its dummy credentials and region, never the caller's."""
        session = boto3.session.Session(
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=region,
        )
        return cls(region=region, endpoint_url=endpoint_url, _session=session)

    @property
    def session(self) -> Any:
        if self._session is None:
            region = self.region or os.environ.get("AWS_REGION") or None
            self._session = boto3.session.Session(profile_name=self.profile, region_name=region)
        return self._session

    def region_for(self, resource_region: str | None = None) -> str:
        """The resource's own region, else --region / the profile's; an error if none."""
        region = resource_region or self.session.region_name
        if not region:
            raise CliError(
                "no AWS region: pass --region, or set AWS_REGION or a region in your profile"
            )
        return region

    def client(
        self,
        service: str,
        region: str | None = None,
        config: Config | None = None,
        purpose: str = "standard",
    ) -> Any:
        """A client in the resource's region (or the default), at --endpoint-url if given.

        Clients are reused per service, region and purpose (e.g. "publish",
        configured as the handler's).
        """
        region = self.region_for(region)
        key = (service, region, purpose)
        if key not in self._clients:
            self._clients[key] = self.session.client(
                service,
                region_name=region,
                endpoint_url=self.endpoint_url,
                config=config or STANDARD,
            )
        return self._clients[key]

    def account_id(self) -> str:
        """The caller's account (sts:GetCallerIdentity), asked once."""
        if self._account is None:
            self._account = str(self.client("sts").get_caller_identity()["Account"])
        return self._account

    def s3(self, owner: str, region: str | None = None) -> Any:
        """An S3 client whose every call expects the bucket to belong to ``owner``."""
        if not _ACCOUNT.fullmatch(owner):
            raise CliError(f"{owner!r} is not an AWS account id (12 digits)")
        purpose = f"owned by {owner}"
        fresh = ("s3", self.region_for(region), purpose) not in self._clients
        made = self.client("s3", region, purpose=purpose)
        if fresh:
            made.meta.events.register("provide-client-params.s3", _expect_owner(owner))
        return made


def runtime_for(aws: Aws, settings: Settings, owner: str | None = None) -> Runtime:
    """The handler's delivery engine with these settings, over the CLI's clients.

    The bus client is ``eventbridgev2`` for an event-busv2 ARN, ``events``
    otherwise, in the bus's region (an ARN's own, else the default), at
    --endpoint-url; the DLQ client is made when the settings name a DLQ, the
    S3 client when they name a claim-check bucket, expecting it to be owned by
    LARGE_EVENT_BUCKET_OWNER, else by ``owner`` (the function's account), else by
    the caller's.
    """
    from fanout import Clients, build_runtime, client_config  # noqa: PLC0415 - see the top

    service = "eventbridgev2" if settings.ordered else "events"
    config = client_config(settings.publish_concurrency).merge(PUBLISH_TIMEOUTS)
    bus = aws.client(service, settings.event_bus_region, config, purpose="publish")
    sqs = aws.client("sqs", region_of_queue(settings.dlq_url)) if settings.dlq_url else None
    s3 = None
    if settings.large_event_bucket:  # the function's LARGE_EVENT_BUCKET_OWNER, else its account
        s3 = aws.s3(settings.large_event_bucket_owner or owner or aws.account_id())
    return build_runtime(settings, Clients(bus=bus, sqs=sqs, s3=s3))
