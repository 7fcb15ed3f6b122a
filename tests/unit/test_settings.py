"""Settings come from the environment once; bad values fail loudly, by name."""

from __future__ import annotations

import pytest

from fanout import handler
from fanout.settings import Settings, SettingsError

GOOD = {
    "EVENT_BUS_NAME": "fanoutBus",
    "DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/orders-fanout-dlq",
}


def test_defaults_follow_the_design() -> None:
    settings = Settings.from_env(GOOD)
    assert settings.max_attempts == 3
    assert settings.detail_format == "plain"
    assert settings.max_event_bytes == 1024 * 1024
    assert settings.dlq_max_bytes == 262144
    assert settings.publish_concurrency >= 4
    assert settings.event_source is None  # "dynamodb.<table>" per record
    assert settings.event_bus_region is None


def test_every_variable_is_read() -> None:
    env = {
        **GOOD,
        "EVENT_BUS_NAME": "arn:aws:events:eu-west-1:123456789012:event-bus/shared",
        "EVENT_SOURCE": "com.example.orders",
        "MAX_ATTEMPTS": "5",
        "DETAIL_FORMAT": "both",
        "MAX_EVENT_BYTES": "262144",
        "DLQ_MAX_BYTES": "1048576",
        "PUBLISH_CONCURRENCY": "8",
        "LOG_LEVEL": "debug",
    }
    settings = Settings.from_env(env)
    assert settings.event_bus_region == "eu-west-1"
    assert settings.event_source == "com.example.orders"
    assert (settings.max_attempts, settings.detail_format) == (5, "both")
    assert (settings.max_event_bytes, settings.dlq_max_bytes) == (262144, 1048576)
    assert (settings.publish_concurrency, settings.log_level) == (8, "DEBUG")


def test_the_mappings_limits_are_read_for_the_safety_valve(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert (
        Settings.from_env(GOOD).maximum_record_age_s,
        Settings.from_env(GOOD).maximum_retry_attempts,
    ) == (None, None)
    env = {**GOOD, "MAXIMUM_RECORD_AGE_IN_SECONDS": "21600", "MAXIMUM_RETRY_ATTEMPTS": "10"}
    settings = Settings.from_env(env)
    assert (settings.maximum_record_age_s, settings.maximum_retry_attempts) == (21600, 10)
    unlimited = {**GOOD, "MAXIMUM_RECORD_AGE_IN_SECONDS": "-1", "MAXIMUM_RETRY_ATTEMPTS": "-1"}
    settings = Settings.from_env(unlimited)
    assert (settings.maximum_record_age_s, settings.maximum_retry_attempts) == (None, None)
    runtime = handler.build_runtime(Settings.from_env(env))
    assert (runtime.valve.maximum_record_age_s, runtime.valve.maximum_retry_attempts) == (21600, 10)


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("MAXIMUM_RECORD_AGE_IN_SECONDS", "59", "-1 or a whole number from 60 to 604800"),
        ("MAXIMUM_RECORD_AGE_IN_SECONDS", "604801", "-1 or a whole number from 60 to 604800"),
        ("MAXIMUM_RETRY_ATTEMPTS", "10001", "-1 or a whole number from 0 to 10000"),
        ("MAXIMUM_RETRY_ATTEMPTS", "-2", "-1 or a whole number from 0 to 10000"),
    ],
)
def test_bad_mapping_limits_fail_by_name(name: str, value: str, allowed: str) -> None:
    with pytest.raises(SettingsError, match=f"{name}='{value}' must be {allowed}"):
        Settings.from_env({**GOOD, name: value})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DLQ_URL": GOOD["DLQ_URL"]}, "EVENT_BUS_NAME is required"),
        ({"EVENT_BUS_NAME": "fanoutBus"}, "DLQ_URL is required"),
        ({**GOOD, "DLQ_URL": "orders-dlq"}, "DLQ_URL='orders-dlq' is not an SQS queue URL"),
        ({**GOOD, "EVENT_BUS_NAME": "bad bus!"}, "EVENT_BUS_NAME='bad bus!' is neither"),
        ({**GOOD, "DETAIL_FORMAT": "xml"}, "DETAIL_FORMAT='xml' must be one of: plain, raw, both"),
        ({**GOOD, "MAX_ATTEMPTS": "0"}, "MAX_ATTEMPTS='0' must be a whole number from 1 to 10"),
        ({**GOOD, "MAX_ATTEMPTS": "11"}, "MAX_ATTEMPTS='11' must be a whole number from 1 to 10"),
        ({**GOOD, "MAX_ATTEMPTS": "three"}, "MAX_ATTEMPTS='three' must be a whole number"),
        ({**GOOD, "EVENT_SOURCE": "aws.dynamodb"}, "must not start with 'aws.'"),
        ({**GOOD, "EVENT_SOURCE": "s" * 257}, "EVENT_SOURCE is 257 characters; at most 256"),
        ({**GOOD, "MAX_EVENT_BYTES": "0"}, "MAX_EVENT_BYTES='0' must be a whole number from 1"),
        ({**GOOD, "MAX_EVENT_BYTES": "-5"}, "MAX_EVENT_BYTES='-5'"),
        ({**GOOD, "DLQ_MAX_BYTES": "0"}, "DLQ_MAX_BYTES='0' must be a whole number from 1024"),
        ({**GOOD, "PUBLISH_CONCURRENCY": "0"}, "PUBLISH_CONCURRENCY='0' must be a whole number"),
        ({**GOOD, "LOG_LEVEL": "LOUD"}, "LOG_LEVEL='LOUD' must be one of: DEBUG, INFO"),
        ({**GOOD, "MAX_ATTEMPTS": "+3"}, "MAX_ATTEMPTS='+3' must be a whole number"),
        ({**GOOD, "MAX_ATTEMPTS": "\u0663"}, "must be a whole number from 1 to 10"),
        ({**GOOD, "MAX_ATTEMPTS": "\uff13"}, "must be a whole number from 1 to 10"),
        ({**GOOD, "PUBLISH_CONCURRENCY": "1_0"}, "PUBLISH_CONCURRENCY='1_0' must be"),
        ({**GOOD, "DLQ_MAX_BYTES": "2048.0"}, "DLQ_MAX_BYTES='2048.0' must be"),
    ],
)
def test_bad_values_name_the_variable_and_what_is_allowed(env: dict, expected: str) -> None:
    with pytest.raises(SettingsError, match="invalid configuration") as caught:
        Settings.from_env(env)
    assert expected in str(caught.value)


def test_all_problems_are_reported_together() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"MAX_ATTEMPTS": "99", "DETAIL_FORMAT": "?"})
    message = str(caught.value)
    for name in ("EVENT_BUS_NAME", "DLQ_URL", "MAX_ATTEMPTS", "DETAIL_FORMAT"):
        assert name in message


def test_handler_fails_at_start_on_bad_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVENT_BUS_NAME", raising=False)
    monkeypatch.setenv("DLQ_URL", GOOD["DLQ_URL"])
    handler.reset()
    with pytest.raises(SettingsError, match="EVENT_BUS_NAME is required"):
        handler.lambda_handler({"Records": []}, None)
    handler.reset()


V2_ARN = "arn:aws:events:eu-west-1:123456789012:event-busv2/orders/abcdefghijklmnopqrstuvwxy"


def test_an_event_busv2_arn_selects_ordered_delivery_in_its_region() -> None:
    settings = Settings.from_env({**GOOD, "EVENT_BUS_NAME": V2_ARN})
    assert settings.ordered and settings.event_bus_region == "eu-west-1"
    assert not Settings.from_env(GOOD).ordered


@pytest.mark.parametrize(
    "arn",
    [
        V2_ARN[:-1],  # the id is 25 characters
        V2_ARN.replace("/orders/", "/"),  # name and id
        V2_ARN.replace("abcdefghijklmnopqrstuvwxy", "ABCDEFGHIJKLMNOPQRSTUVWXY"),
    ],
)
def test_a_malformed_event_busv2_arn_is_refused(arn: str) -> None:
    with pytest.raises(SettingsError, match="event-busv2/<name>/<25-character id>"):
        Settings.from_env({**GOOD, "EVENT_BUS_NAME": arn})
