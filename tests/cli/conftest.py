"""A moto_server for the CLI's end-to-end tests, and the CLI run as an operator runs it.

One server per test process (started and stopped by pid; a server costs a
second of CPU to start), reset before each test; ``cli`` runs ``dynamodb-fanout``
in-process with --endpoint-url pointing at the server and returns its exit status
and output. The helpers below set up what an operator meets: the function as
the module deploys it (its environment and its event source mapping) and DLQ
messages written by the handler's own code.
"""

from __future__ import annotations

import http.client
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from dynamodb_fanout.main import main
from dynamodb_fanout.moto_stack import DUMMY_CREDENTIALS, MotoServer, moto_server
from fanout import Clients, Settings, build_runtime, process

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's
BUS = "ordersBus"
FUNCTION = "orders-fanout"
V2_PATH = "/service/AWSEventsV2/"  # eventbridgev2's requests (smithy-rpc-v2-cbor)


@dataclass
class Ran:
    status: int
    out: str
    err: str


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with moto_server(log_dir=tmp_path_factory.mktemp("moto")) as running:
        yield running


@pytest.fixture
def moto(server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    """A clean server, dummy credentials, region us-east-1 and no endpoint in the environment."""
    server.reset()
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_REGION", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return server


@dataclass
class Request:
    """One request that went through the recorder."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Recorder:
    """The PutEvents entries that reached the endpoint, as the client sent them, and every
    request's method, path and headers.

    moto parses each Detail with floats before it delivers the event to a
    target, so a 38-digit number arrives rounded at the consumer queue; what
    the bus received is checked here, on the wire. Requests to eventbridgev2
    go to ``v2_target`` (a fake event-busv2 endpoint) when one is set: moto
    does not serve that API.
    """

    endpoint: str
    entries: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    v2_target: str | None = None

    def details(self) -> list[dict[str, Any]]:
        """Each entry's Detail, numbers as exact Decimals."""
        return [json.loads(e["Detail"], parse_float=Decimal) for e in self.entries]

    def s3(self) -> list[Request]:
        """The S3 requests (path-style at an IP endpoint: no service header to tell them by)."""
        return [r for r in self.requests if "/s3/" in r.headers.get("authorization", "")]


class _Forward(BaseHTTPRequestHandler):
    target: str = ""
    recorder: Recorder

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("X-Amz-Target", "").endswith("PutEvents"):
            self.recorder.entries += json.loads(body)["Entries"]
        headers_seen = {k.lower(): v for k, v in self.headers.items()}
        self.recorder.requests.append(Request(self.command, self.path, headers_seen))
        target = self.target
        if self.path.startswith(V2_PATH) and self.recorder.v2_target:
            target = self.recorder.v2_target
        url = urlsplit(target)
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        connection.request(self.command, self.path, body, headers)
        response = connection.getresponse()
        data = response.read()
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        connection.close()

    do_GET = do_PUT = do_DELETE = do_HEAD = do_POST

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recorder(moto: MotoServer) -> Iterator[Recorder]:
    """A recording HTTP proxy on 127.0.0.1 in front of moto_server, stopped after the test."""
    handler = type("Forward", (_Forward,), {"target": moto.endpoint})
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    recording = Recorder(f"http://127.0.0.1:{proxy.server_address[1]}")
    handler.recorder = recording
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield recording
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join()


@pytest.fixture
def cli(recorder: Recorder, capsys: pytest.CaptureFixture[str]):
    """Run the CLI in-process against moto_server (through the recorder)."""

    def run(*args: str, endpoint: bool = True) -> Ran:
        argv = [*(["--endpoint-url", recorder.endpoint] if endpoint else []), *args]
        capsys.readouterr()
        status = main(argv)
        captured = capsys.readouterr()
        return Ran(status, captured.out, captured.err)

    return run


def client(server: MotoServer, service: str, region: str = REGION) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=server.endpoint)


def consumer_queue(server: MotoServer, bus: str = BUS, pattern: dict | None = None) -> str:
    """A bus (created if missing), a rule on it and an SQS queue as its target."""
    events, sqs = client(server, "events"), client(server, "sqs")
    try:
        events.describe_event_bus(Name=bus)
    except events.exceptions.ResourceNotFoundException:
        events.create_event_bus(Name=bus)
    name = f"{bus}-consumer"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    pattern = pattern or {"source": [{"prefix": "dynamodb."}]}
    events.put_rule(Name="everything", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="everything", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return url


def drain(server: MotoServer, url: str, quiet: int = 2) -> list[dict[str, Any]]:
    """Every message body in the queue (deleted as read), JSON-decoded when it is JSON."""
    sqs = client(server, "sqs")
    out: list[dict[str, Any]] = []
    empty = 0
    while empty < quiet:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            empty += 1
            continue
        empty = 0
        for message in messages:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return out


def visible(server: MotoServer, url: str) -> int:
    attributes = client(server, "sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


# --- what an operator meets: the function, its table and stream, its parked changes -----


def handler_runtime(moto: MotoServer, settings: Settings) -> Any:
    """The handler's runtime (its own build_runtime) over moto's clients."""
    s3 = client(moto, "s3") if settings.large_event_bucket else None
    return build_runtime(settings, Clients(client(moto, "events"), client(moto, "sqs"), s3))


def park(moto: MotoServer, url: str, records: list[dict[str, Any]], **settings: Any) -> None:
    """The handler itself parks the records: its bus is missing, or they are too large."""
    config = Settings(**{"event_bus_name": BUS, "dlq_url": url, **settings})
    with redirect_stdout(io.StringIO()):  # the handler's metrics line
        response = process({"Records": records}, None, handler_runtime(moto, config))
    assert response == {"batchItemFailures": []}


def dlq(moto: MotoServer, name: str = "fanout-dlq", region: str = REGION) -> str:
    return client(moto, "sqs", region).create_queue(QueueName=name)["QueueUrl"]


def table_with_stream(moto: MotoServer, name: str = "Orders", region: str = REGION) -> str:
    """A table with a NEW_AND_OLD_IMAGES stream; its stream ARN."""
    created = client(moto, "dynamodb", region).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return str(created["TableDescription"]["LatestStreamArn"])


def of_stream(records: list[dict[str, Any]], stream_arn: str) -> list[dict[str, Any]]:
    """The records as that stream delivers them (its eventSourceARN)."""
    return [{**record, "eventSourceARN": stream_arn} for record in records]


def table_arn(stream_arn: str) -> str:
    return stream_arn.split("/stream/", maxsplit=1)[0]


def deploy(
    moto: MotoServer,
    stream_arn: str | None = None,
    name: str = FUNCTION,
    description: str = "",
    **env: str,
) -> str:
    """The fan-out function as the module deploys it: its environment, its description and,
    when a stream is given, its event source mapping (created after the test's writes: moto
    would try to run the function on later writes and drop their stream records). Its ARN."""
    iam = client(moto, "iam")
    try:
        role = iam.get_role(RoleName="fanout")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        role = iam.create_role(RoleName="fanout", AssumeRolePolicyDocument=json.dumps(trust))[
            "Role"
        ]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("fanout/handler.py", "def lambda_handler(event, context):\n    pass\n")
    lam = client(moto, "lambda")
    arn = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="fanout.handler.lambda_handler",
        Code={"ZipFile": code.getvalue()},
        Environment={"Variables": env},
        Description=description,
    )["FunctionArn"]
    if stream_arn is not None:
        lam.create_event_source_mapping(
            FunctionName=name, EventSourceArn=stream_arn, StartingPosition="TRIM_HORIZON"
        )
    return str(arn)


def configure(moto: MotoServer, name: str = FUNCTION, **env: str) -> None:
    client(moto, "lambda").update_function_configuration(
        FunctionName=name, Environment={"Variables": env}
    )
