"""An in-memory S3 bucket (PutObject) that fails on a schedule."""

from __future__ import annotations

import io
from typing import Any

from botocore.exceptions import ReadTimeoutError

from tests.support.faults import client_error


class MemoryS3:
    """PutObject whose first calls fail: ``down_for_calls`` times with ``fault``.

    ``fault``: an S3 error code (SlowDown is 503, AccessDenied and NoSuchBucket
    are for good), or ``"Timeout"`` (the answer never comes). The bucket belongs
    to ``owner``: as S3 does, a call whose ExpectedBucketOwner names another
    account is refused with 403 AccessDenied.
    """

    def __init__(
        self, down_for_calls: int = 0, fault: str = "SlowDown", owner: str = "123456789012"
    ) -> None:
        self.down_for_calls = down_for_calls
        self.fault = fault
        self.owner = owner
        self.calls = 0
        self.objects: dict[str, bytes] = {}
        self.owners: list[str | None] = []  # ExpectedBucketOwner of each call

    def _check_owner(self, options: dict[str, Any], operation: str) -> None:
        expected = options.get("ExpectedBucketOwner")
        self.owners.append(expected)
        if expected is not None and expected != self.owner:
            raise client_error("AccessDenied", 403, operation)

    def get_object(self, Bucket: str, Key: str, **options: Any) -> dict:
        self._check_owner(options, "GetObject")
        if Key not in self.objects:
            raise client_error("NoSuchKey", 404, "GetObject")
        return {"Body": io.BytesIO(self.objects[Key])}

    def put_object(self, Bucket: str, Key: str, Body: bytes, **options: Any) -> dict:
        self.calls += 1
        self._check_owner(options, "PutObject")
        if self.calls <= self.down_for_calls:
            if self.fault == "Timeout":
                raise ReadTimeoutError(endpoint_url=f"https://{Bucket}.s3.local")
            status = (
                503 if self.fault == "SlowDown" else 403 if self.fault == "AccessDenied" else 404
            )
            raise client_error(self.fault, status, "PutObject")
        self.objects[Key] = Body
        return {}
