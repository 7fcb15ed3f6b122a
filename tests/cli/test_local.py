"""dynamodb-fanout without an AWS account, installed with the local extra.

`local-run`: a root on moto_server, with events flowing. The function is
deployed as the module deploys it for a local run (its environment and
description, no event source mapping); the installed command, run in its own
process from a directory outside this repository with nothing of it on
sys.path, reads the table's stream, runs the installed handler with the
function's settings and publishes to the function's bus, where a rule routes
to a consumer queue. A rerun publishes nothing new (the checkpoint); a
mapping on the stream stops the run with the reason; records the handler
reports back are redelivered from the lowest one, then given up.

`check-pattern` as the README prints it, with no credentials, no region and
no endpoint: it starts a private moto_server, asks it, and stops it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dynamodb_fanout.local_run import DESCRIPTION as DESCRIPTION_PATTERN
from dynamodb_fanout.local_run import LocalContext
from dynamodb_fanout.moto_stack import DUMMY_CREDENTIALS, is_alive
from tests.cli.conftest import BUS, FUNCTION, REGION, client, consumer_queue, deploy, dlq, drain
from tests.cli.conftest import table_with_stream as new_table

REPO = Path(__file__).resolve().parents[2]
TABLE = "Orders"
DESCRIPTION = f"Fans out changes of DynamoDB table {TABLE} to EventBridge"  # the module's
CHECKPOINT = f"local-run.{FUNCTION}.json"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install ".[local]"` into a clean virtual environment: its `dynamodb-fanout`."""
    venv = tmp_path_factory.mktemp("installed") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", f"{REPO}[local]"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert pip.returncode == 0, pip.stderr[-2000:]
    return venv


def local_run(venv: Path, endpoint: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The installed command in its own process: no PYTHONPATH, run outside the repository."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    env.update(DUMMY_CREDENTIALS, AWS_DEFAULT_REGION=REGION)
    return subprocess.run(
        [str(venv / "bin" / "dynamodb-fanout"), "--endpoint-url", endpoint, "local-run", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
        cwd=cwd,
    )


def summary(ran: subprocess.CompletedProcess) -> dict[str, Any]:
    assert ran.stdout.startswith("{"), ran.stdout + ran.stderr
    return json.loads(ran.stdout)


def orders_fanout(moto: Any, **env: str) -> tuple[str, str]:
    """The table with its stream and the function as the module deploys it for a local run
    (create_event_source_mapping = false); the stream ARN and the DLQ URL."""
    stream = new_table(moto, TABLE)
    url = dlq(moto)
    settings = {"EVENT_SOURCE": f"dynamodb.{TABLE}", "MAXIMUM_RETRY_ATTEMPTS": "2", **env}
    deploy(moto, description=DESCRIPTION, EVENT_BUS_NAME=BUS, DLQ_URL=url, **settings)
    return stream, url


def put(moto: Any, key: str, **attributes: str) -> None:
    item = {"pk": {"S": key}, **{name: {"S": value} for name, value in attributes.items()}}
    client(moto, "dynamodb").put_item(TableName=TABLE, Item=item)


def stream_records(moto: Any, stream: str) -> list[dict[str, Any]]:
    """What the stream's (one) shard holds, read directly."""
    streams = client(moto, "dynamodbstreams")
    (shard,) = streams.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return list(streams.get_records(ShardIterator=iterator)["Records"])


def test_an_insert_reaches_the_consumer_and_a_rerun_publishes_nothing_twice(
    moto, installed, tmp_path
) -> None:
    stream, _ = orders_fanout(moto)
    inserts = consumer_queue(
        moto, pattern={"source": ["dynamodb.Orders"], "detail-type": ["INSERT"]}
    )
    put(moto, "order-1", status="NEW")
    put(moto, "order-1", status="PAID")  # a MODIFY: the rule does not select it

    first = local_run(installed, moto.endpoint, "--function", FUNCTION, "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    done = summary(first)
    assert (done["stream"], done["read"], done["published"]) == (stream, 2, 2)
    assert done["stream_origin"] == f"table {TABLE}, named in function {FUNCTION}'s description"
    (event,) = drain(moto, inserts)
    assert (event["source"], event["detail-type"]) == ("dynamodb.Orders", "INSERT")
    assert event["detail"]["newImage"] == {"pk": "order-1", "status": "NEW"}
    checkpoint = tmp_path / CHECKPOINT
    assert checkpoint.stat().st_mode & 0o777 == 0o600

    again = local_run(installed, moto.endpoint, "--function", FUNCTION, cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "read 0 records from 1 shard in 0 invocations" in again.stdout
    assert "published 0\n" in again.stdout
    assert "noted: nothing new since the checkpoint" in again.stdout
    assert drain(moto, inserts) == []

    put(moto, "order-2", status="NEW")
    put(moto, "order-3", status="NEW")
    later = summary(
        local_run(installed, moto.endpoint, "--function", FUNCTION, "--json", cwd=tmp_path)
    )
    assert (later["read"], later["published"]) == (2, 2)  # only what came since
    assert sorted(e["detail"]["keys"]["pk"] for e in drain(moto, inserts)) == [
        "order-2",
        "order-3",
    ]

    checkpoint.unlink()  # start over: every record of the stream again
    over = summary(
        local_run(installed, moto.endpoint, "--function", FUNCTION, "--json", cwd=tmp_path)
    )
    assert (over["read"], over["published"]) == (4, 4)


def test_a_mapping_on_the_stream_stops_the_run_with_the_reason(moto, installed, tmp_path) -> None:
    stream, url = orders_fanout(moto)
    deploy(moto, stream, name="orders-consumer", EVENT_BUS_NAME=BUS, DLQ_URL=url)
    put(moto, "order-1", status="NEW")  # written fine, and gone: moto gave it to the mapping
    assert stream_records(moto, stream) == []

    ran = local_run(installed, moto.endpoint, "--function", FUNCTION, cwd=tmp_path)
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert ran.stderr.startswith("dynamodb-fanout: error: the table's stream has an event source")
    assert ", function orders-consumer, " in ran.stderr
    assert (
        "moto delivers records to it and drops them, set create_event_source_mapping = false "
        "for a local run" in ran.stderr
    )
    assert ran.stderr.count("\n") == 1 and not (tmp_path / CHECKPOINT).exists()


def test_the_functions_own_mapping_stops_the_run_too(moto, installed, tmp_path) -> None:
    stream = new_table(moto, TABLE)
    deploy(moto, stream, description=DESCRIPTION, EVENT_BUS_NAME=BUS, DLQ_URL=dlq(moto))
    ran = local_run(installed, moto.endpoint, "--function", FUNCTION, cwd=tmp_path)
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert f", function {FUNCTION}, " in ran.stderr
    assert "set create_event_source_mapping = false for a local run" in ran.stderr


def test_an_empty_stream_says_so(moto, installed, tmp_path) -> None:
    orders_fanout(moto)
    ran = local_run(installed, moto.endpoint, "--function", FUNCTION, cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "noted: the stream has no records: write to the table, then run again (on moto, a " in (
        ran.stdout
    )


def test_records_reported_back_are_redelivered_from_the_lowest_then_given_up(
    moto, installed, tmp_path
) -> None:
    """The middle record is too large for the bus (MAX_EVENT_BYTES) and for the DLQ, whose
    messages are cut to 1 KB: the handler can neither publish nor park it, and reports it
    back with the one after it, which it did publish."""
    stream, url = orders_fanout(moto, MAX_EVENT_BYTES="5000")
    client(moto, "sqs").set_queue_attributes(
        QueueUrl=url, Attributes={"MaximumMessageSize": "1024"}
    )
    everything = consumer_queue(moto)
    put(moto, "order-1")
    put(moto, "order-2", note="x" * 10_000)
    put(moto, "order-3")
    sequence = [r["dynamodb"]["SequenceNumber"] for r in stream_records(moto, stream)]

    ran = local_run(installed, moto.endpoint, "--function", FUNCTION, "--json", cwd=tmp_path)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    done = summary(ran)
    # invocation 1: all three; 2 and 3 (the retries, MAXIMUM_RETRY_ATTEMPTS=2): order-2 on
    assert (done["read"], done["invocations"], done["redelivered"]) == (3, 3, 4)
    assert done["reported_back"] == 3  # order-2, neither published nor parked, each time
    (batch,) = done["given_up"]["batches"]
    info = batch["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"]) == (sequence[1], sequence[2])
    assert (info["batchSize"], info["streamArn"]) == (2, stream)
    delivered = [e["detail"]["keys"]["pk"] for e in drain(moto, everything)]
    assert sorted(delivered) == ["order-1", "order-3", "order-3", "order-3"]

    # As Lambda does, the checkpoint moved past the batch it gave up on.
    again = summary(
        local_run(installed, moto.endpoint, "--function", FUNCTION, "--json", cwd=tmp_path)
    )
    assert (again["read"], again["exit_status"]) == (0, 0)


def test_a_checkpoint_of_another_function_is_refused(moto, cli, tmp_path) -> None:
    orders_fanout(moto)
    checkpoint = tmp_path / "theirs.json"
    checkpoint.write_text(json.dumps({"function": "arn:aws:lambda:::function:x", "streams": {}}))
    ran = cli("local-run", "--function", FUNCTION, "--checkpoint", str(checkpoint))
    assert ran.status == 2
    assert f"checkpoint {checkpoint} is function arn:aws:lambda:::function:x's" in ran.err


def test_only_the_fan_out_handler_is_run(moto, cli) -> None:
    orders_fanout(moto)
    client(moto, "lambda").update_function_configuration(
        FunctionName=FUNCTION, Handler="app.handler"
    )
    ran = cli("local-run", "--function", FUNCTION)
    assert ran.status == 2
    assert "handler is 'app.handler', not the fan-out's fanout.handler.lambda_handler" in ran.err


def test_the_context_counts_down_from_the_functions_timeout() -> None:
    context = LocalContext("fn", timeout_s=60, memory_mb=256, arn="arn:aws:lambda:::function:fn")
    remaining = context.get_remaining_time_in_millis()
    assert 59_000 < remaining <= 60_000
    assert (context.function_name, context.memory_limit_in_mb) == ("fn", 256)
    assert context.aws_request_id and context.invoked_function_arn.endswith(":fn")
    assert LocalContext("fn", timeout_s=0).get_remaining_time_in_millis() == 0


def test_the_modules_description_names_the_table_the_way_local_run_reads_it() -> None:
    """local-run finds the stream through the table the module's description names."""
    main_tf = (REPO / "main.tf").read_text()
    (description,) = re.findall(r'^\s*description\s*=\s*"(Fans out changes[^"]*)"', main_tf, re.M)
    match = DESCRIPTION_PATTERN.match(description.replace("${local.table_name}", TABLE))
    assert match is not None and match["table"] == TABLE, description


# --- check-pattern without an AWS account -----------------------------------------------------

README_LINE = re.compile(r"^dynamodb-fanout check-pattern --pattern .*$", re.MULTILINE)


def test_check_pattern_as_the_readme_prints_it_starts_its_own_moto(installed, tmp_path) -> None:
    (line,) = README_LINE.findall((REPO / "README.md").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    env.update(HOME=str(tmp_path), AWS_EC2_METADATA_DISABLED="true")  # no account at all
    argv = shlex.split(line)
    ran = subprocess.run(
        [str(installed / "bin" / argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert (
        "5 of 27 sample records match (decided by a temporary bus on a private moto_server"
        in ran.stdout
    )
    said = re.search(
        r"no AWS credentials found: trying the pattern on a private moto_server at "
        r"http://127\.0\.0\.1:\d+ \(pid (\d+)\), stopped when done",
        ran.stderr,
    )
    assert said, ran.stderr
    assert not is_alive(int(said.group(1)))  # the server is gone with the command
