"""boto3 clients from the global options: --region, --profile, --endpoint-url.

The region of a call comes from the resource when its name carries one (a
queue URL, a bus or stream ARN), else from --region, else from AWS_REGION,
AWS_DEFAULT_REGION or the profile (AWS_REGION first, as the AWS CLI and the
Lambda runtime read it; boto3 alone reads only AWS_DEFAULT_REGION);
so `redrive --queue-url https://sqs.eu-west-1…` needs no --region at all.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from dynamodb_fanout.errors import CliError, error_code

# https://sqs.<region>.amazonaws.com/<account>/<name>, the legacy
# https://<region>.queue.amazonaws.com/…, and any endpoint's http://host/<account>/<name>.
_QUEUE_URL = re.compile(r"https?://(?P<host>[^/\s]+)/(?P<account>[^/\s]+)/(?P<name>[^/\s]+)/?")
_QUEUE_HOST_REGION = re.compile(r"(?:sqs[.-])?(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)[.](?:queue[.])?")
_ARN_REGION = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:(?P<region>[a-z0-9-]*):")

# Calls other than PutEvents: botocore's standard retries are right for an operator's tool.
STANDARD = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5)


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


def require_bus(events: Any, bus: str) -> None:
    """An event bus that does not exist is the operator's to fix first: a clear error."""
    try:
        events.describe_event_bus(Name=bus)
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            region = events.meta.region_name
            raise CliError(f"event bus {bus!r} does not exist in {region}") from None
        raise


def region_of_arn(arn: str) -> str | None:
    match = _ARN_REGION.match(arn or "")
    return match.group("region") or None if match else None


@dataclass
class Aws:
    """One session for the run; clients made on demand, per service and region."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    _session: Any = field(default=None, repr=False)
    _clients: dict[tuple[str, str, str], Any] = field(default_factory=dict, repr=False)

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

    def for_handler(self, region: str | None = None) -> _HandlerSession:
        """A session-like object for the handler's build_runtime: same endpoint, same region."""
        return _HandlerSession(self, self.region_for(region))


@dataclass
class _HandlerSession:
    """What fanout.handler.build_runtime needs of a boto3 session: ``client()``."""

    aws: Aws
    region: str

    def client(self, service: str, region_name: str | None = None, **kwargs: Any) -> Any:
        return self.aws.session.client(
            service,
            region_name=region_name or self.region,
            endpoint_url=self.aws.endpoint_url,
            **kwargs,
        )
