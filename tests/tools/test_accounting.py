"""The demo's verdict: every record in the consumers its rules select, or in the DLQ."""

from __future__ import annotations

from collections import Counter

from localrun.local_run import Accounting, account


def record(event_id: str, event_name: str = "INSERT", status: str = "NEW") -> dict:
    image = {"NewImage": {"status": {"S": status}}} if event_name != "REMOVE" else {}
    return {"eventID": event_id, "eventName": event_name, "dynamodb": image}


class Received:
    """A stand-in for Deliveries: what each queue got."""

    def __init__(self, audit=(), billing=(), dlq=None) -> None:
        self.consumers = {"audit": Counter(audit), "billing": Counter(billing)}
        self.dead_letters = {k: [{"reason": r}] for k, r in (dlq or {}).items()}


RECORDS = {
    "a": record("a"),
    "b": record("b", "MODIFY", "PAID"),
    "c": record("c", "REMOVE"),
}


def test_all_delivered_where_the_rules_say_is_ok():
    result = account(RECORDS, Received(audit="abc", billing="b"))
    assert result.ok
    assert result.published == 3
    assert result.per_consumer == {"audit": 3, "billing": 1}


def test_a_parked_record_is_accounted_for_and_counted_by_reason():
    result = account(RECORDS, Received(audit="ac", dlq={"b": "EventTooLarge"}))
    assert result.ok
    assert result.dead_lettered == Counter({"EventTooLarge": 1})


def test_a_record_nowhere_is_unaccounted():
    result = account(RECORDS, Received(audit="ab", billing="b"))
    assert result.unaccounted == ["c"]
    assert not result.ok


def test_wrong_consumer_and_missing_consumer_are_reported():
    result = account(RECORDS, Received(audit="abc", billing="a"))
    assert result.misrouted == ["billing:a"]
    assert result.missing == ["billing:b"]
    assert not result.ok


def test_duplicates_are_counted_but_not_a_failure():
    result = account(RECORDS, Received(audit="abcc", billing="bb"))
    assert result.duplicates == 2
    assert result.ok


def test_published_and_parked_or_never_read_are_failures():
    both = account(RECORDS, Received(audit="abc", billing="b", dlq={"a": "X"}))
    assert both.published_and_parked == ["a"]
    stranger = account(RECORDS, Received(audit="abcz", billing="b"))
    assert stranger.unknown == ["z"]
    assert not both.ok and not stranger.ok
    assert Accounting().ok


def test_a_claim_checked_record_is_routed_by_its_pointer():
    """A pointer carries no images: a rule on newImage does not select it, and that is right."""
    received = Received(audit="abc")
    received.full_events = {"b": {"detail": {"eventID": "b"}}}
    received.claim_check_errors = []
    result = account(RECORDS, received)
    assert result.ok and result.claim_checked == 1
    received.claim_check_errors = ["b: s3://bucket/key does not hold event 'b'"]
    assert not account(RECORDS, received).ok
