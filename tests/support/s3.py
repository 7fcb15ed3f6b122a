"""An in-memory S3 bucket (PutObject) that fails on a schedule."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ReadTimeoutError

from tests.support.faults import client_error


class MemoryS3:
    """PutObject whose first calls fail: ``down_for_calls`` times with ``fault``.

    ``fault``: an S3 error code (SlowDown is 503, AccessDenied and NoSuchBucket
    are for good), or ``"Timeout"`` (the answer never comes).
    """

    def __init__(self, down_for_calls: int = 0, fault: str = "SlowDown") -> None:
        self.down_for_calls = down_for_calls
        self.fault = fault
        self.calls = 0
        self.objects: dict[str, bytes] = {}
        self.owners: list[str | None] = []  # ExpectedBucketOwner of each call

    def put_object(self, Bucket: str, Key: str, Body: bytes, **options: Any) -> dict:
        self.calls += 1
        self.owners.append(options.get("ExpectedBucketOwner"))
        if self.calls <= self.down_for_calls:
            if self.fault == "Timeout":
                raise ReadTimeoutError(endpoint_url=f"https://{Bucket}.s3.local")
            status = (
                503 if self.fault == "SlowDown" else 403 if self.fault == "AccessDenied" else 404
            )
            raise client_error(self.fault, status, "PutObject")
        self.objects[Key] = Body
        return {}
