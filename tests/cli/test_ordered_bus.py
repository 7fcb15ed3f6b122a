"""The CLI refuses to re-publish to a new custom event bus rather than lose its order."""

from __future__ import annotations

import argparse

import pytest

from dynamodb_fanout import function_settings, pipeline
from dynamodb_fanout.errors import CliError
from fanout.settings import Settings

BUS_V2 = "arn:aws:events:us-east-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"


class NoCalls:
    def put_events(self, **_: object) -> None:
        raise AssertionError("nothing may be sent")


def test_publishing_to_an_event_busv2_arn_is_a_clear_error() -> None:
    settings = Settings(event_bus_name=BUS_V2, dlq_url="")
    with pytest.raises(CliError, match=r"new custom event bus .* not supported"):
        pipeline.send(NoCalls(), BUS_V2, settings, [])


def test_an_event_busv2_bus_is_refused_before_anything_moves() -> None:
    args = argparse.Namespace(event_bus=BUS_V2)
    with pytest.raises(CliError, match=r"new custom event bus .* not supported"):
        function_settings.resolve(None, args)  # type: ignore[arg-type]
