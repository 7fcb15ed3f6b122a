"""One SQS queue worked through in a pass: receive, hold, delete, release; failures counted.

A pass looks at each message once: what it receives is held invisible until
it is deleted (its work is done) or released (visibility 0, so the next pass
or another reader sees it at once). Deletes and releases are batch calls that
can fail per entry; those failures are counted, never assumed away, because
a message that was not deleted comes back and would be handled twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from dynamodb_fanout.aws import visible_messages
from dynamodb_fanout.errors import error_code

HOLD_S = 120  # how long a received message stays invisible while a pass holds it
# A pass that reads every message before it publishes (to publish in stream order)
# holds them longer; they are released at once when it ends, normally or not.
PASS_HOLD_S = 900
BATCH = 10  # SQS ReceiveMessage / DeleteMessageBatch / ChangeMessageVisibilityBatch maximum
EMPTY_RECEIVES_TO_STOP = 2  # SQS may answer empty while messages exist


@dataclass
class QueueCounts:
    """Deletes and releases that SQS did not confirm, and why: (what, why, message id or '')."""

    delete_failed: int = 0
    release_failed: int = 0
    errors: list[tuple[str, str, str]] = field(default_factory=list)


class Queue:
    """A queue being worked through by one pass."""

    def __init__(
        self,
        sqs: Any,
        url: str,
        hold_s: int = HOLD_S,
        wait_s: int = 1,
        empty_receives_to_stop: int = EMPTY_RECEIVES_TO_STOP,
    ) -> None:
        self.sqs = sqs
        self.url = url
        self.hold_s = hold_s
        self.wait_s = wait_s
        self.empty_receives_to_stop = empty_receives_to_stop
        self.held: dict[str, str] = {}  # MessageId -> receipt handle, until deleted or released
        self.seen: set[str] = set()
        self.counts = QueueCounts()
        self._empty = 0

    def depth(self) -> int:
        """Messages visible now; a queue that does not exist is a CliError, before any work."""
        return visible_messages(self.sqs, self.url)

    def receive(self, room: int = BATCH) -> list[dict[str, Any]] | None:
        """The next messages not yet seen in this pass; None once the queue looks drained.

        A message seen before (its hold ran out during a long pass) is released
        again, not handed out twice.
        """
        while self._empty < self.empty_receives_to_stop:
            messages = self.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=max(1, min(BATCH, room)),
                VisibilityTimeout=self.hold_s,
                WaitTimeSeconds=self.wait_s,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
            ).get("Messages", [])
            fresh = []
            for message in messages:
                if message["MessageId"] in self.seen:
                    self._release([message["ReceiptHandle"]])
                else:
                    self.seen.add(message["MessageId"])
                    self.held[message["MessageId"]] = message["ReceiptHandle"]
                    fresh.append(message)
            if fresh:
                self._empty = 0
                return fresh
            self._empty += 1
        return None

    def delete(self, messages: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
        """Delete messages whose work is done; the ones SQS did not delete, with why.

        A message not deleted stays held and is released with the rest.
        """
        failed: list[tuple[dict[str, Any], str]] = []
        for start in range(0, len(messages), BATCH):
            chunk = messages[start : start + BATCH]
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
            ]
            try:
                response = self.sqs.delete_message_batch(QueueUrl=self.url, Entries=entries)
            except Exception as exc:  # the whole call failed: none of them is known deleted
                why = error_code(exc) or f"{type(exc).__name__}: {exc}"
                failed += [(m, why) for m in chunk]
                continue
            done = {ok.get("Id") for ok in response.get("Successful") or []}
            errors = {
                f.get("Id"): f"{f.get('Code')}: {f.get('Message', '')}".strip(": ")
                for f in response.get("Failed") or []
            }
            for i, message in enumerate(chunk):
                if str(i) in done:
                    self.held.pop(message["MessageId"], None)
                else:
                    failed.append((message, errors.get(str(i), "not confirmed")))
        self.counts.delete_failed += len(failed)
        self.counts.errors += [("not deleted", why, m["MessageId"]) for m, why in failed]
        return failed

    def release(self, receipts: list[str]) -> None:
        """Make these messages visible again at once (receipts kept from an earlier pass)."""
        self._release(receipts)

    def release_all(self) -> None:
        """Make every held message visible again at once; never raises (it runs on the way out)."""
        receipts = list(self.held.values())
        self.held.clear()
        self._release(receipts)

    def _release(self, receipts: list[str]) -> None:
        for start in range(0, len(receipts), BATCH):
            chunk = receipts[start : start + BATCH]
            entries = [
                {"Id": str(i), "ReceiptHandle": r, "VisibilityTimeout": 0}
                for i, r in enumerate(chunk)
            ]
            try:
                response = self.sqs.change_message_visibility_batch(
                    QueueUrl=self.url, Entries=entries
                )
                failed = len(response.get("Failed") or [])
            except Exception as exc:
                failed = len(chunk)
                self.counts.errors.append(("not released", error_code(exc) or str(exc), ""))
            self.counts.release_failed += failed

    @contextmanager
    def pass_(self) -> Iterator[Queue]:
        """Held messages are released when the pass ends: normally, on error, on Ctrl-C."""
        try:
            yield self
        finally:
            self.release_all()
