"""The CLI refuses to re-publish to a new custom event bus rather than lose its order."""

from __future__ import annotations

import pytest

from dynamodb_fanout import pipeline
from dynamodb_fanout.errors import CliError

BUS_V2 = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"


def test_publishing_to_an_event_busv2_arn_is_a_clear_error() -> None:
    class NoCalls:
        def put_events(self, **_: object) -> None:
            raise AssertionError("nothing may be sent")

    with pytest.raises(CliError, match=r"new custom event bus .* not supported"):
        pipeline.publish(NoCalls(), BUS_V2, [])
