"""Expected failures, each turned into one line on stderr and exit status 2.

A missing region or credentials, a queue or bus that does not exist, a bad
argument: the operator can fix these, so they get a sentence, not a traceback.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

EXIT_OK, EXIT_INCOMPLETE, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


class CliError(Exception):
    """An expected failure, with the sentence to show the operator."""


def describe(exc: BaseException) -> str | None:
    """The one-line message for an expected AWS/botocore failure, None for a bug."""
    message = _describe(exc)
    return " ".join(message.split()) if message is not None else None


def _describe(exc: BaseException) -> str | None:  # noqa: PLR0911 - one case per kind
    if isinstance(exc, NoRegionError):
        return "no AWS region: pass --region, or set AWS_REGION or a region in your profile"
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return (
            "no AWS credentials found: pass --profile, or set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
        )
    if isinstance(exc, ProfileNotFound):
        return f"{exc} (see ~/.aws/config)"
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach the AWS endpoint: {exc}"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "ClientError")
        message = error.get("Message") or str(exc)
        return f"{exc.operation_name} failed: {code}: {message}"
    if isinstance(exc, BotoCoreError):
        return str(exc)
    return None


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError ('' for anything else)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""
