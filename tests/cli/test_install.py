"""`pip install .` in a clean virtual environment gives a working `dynamodb-fanout`.

The wheel carries the CLI and the handler's package and depends on boto3
only; installed, its backfill puts a table's 60 items on the bus with every
digit of their 38-digit numbers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from localrun.moto_stack import DUMMY_CREDENTIALS
from tests.cli.conftest import BUS, consumer_queue, drain
from tests.cli.test_backfill import TABLE, amount, table_with_items

REPO = Path(__file__).resolve().parents[2]


def test_pip_install_gives_a_backfill_that_keeps_every_digit(moto, recorder, tmp_path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert pip.returncode == 0, pip.stderr[-2000:]
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    names = {p["name"].lower() for p in json.loads(installed.stdout)}
    assert names - {"pip", "setuptools", "wheel"} <= {
        "dynamodb-stream-fanout",
        "boto3",
        "botocore",
        "s3transfer",
        "jmespath",
        "python-dateutil",
        "six",
        "urllib3",
    }

    table_with_items(moto, 60)
    queue = consumer_queue(moto, pattern={"detail-type": ["BACKFILL"]})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    env.update(DUMMY_CREDENTIALS, AWS_DEFAULT_REGION="us-east-1")
    ran = subprocess.run(
        [
            str(venv / "bin" / "dynamodb-fanout"),
            "--endpoint-url",
            recorder.endpoint,
            "backfill",
            "--table",
            TABLE,
            "--event-bus",
            BUS,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert ran.returncode == 0, ran.stderr
    assert "60 items scanned in 4 segments, 60 published, 0 dead-lettered" in ran.stdout

    # On the bus: 60 events, every digit (as PutEvents received them) ...
    amounts = sorted(d["newImage"]["amount"] for d in recorder.details())
    assert amounts == [Decimal(amount(i)) for i in range(60)]
    # ... and a rule routes all 60 to a queue (moto rounds the numbers it delivers).
    delivered = drain(moto, queue)
    assert sorted(e["detail"]["keys"]["pk"] for e in delivered) == [
        f"order-{i:05d}" for i in range(60)
    ]
