"""Local runs of the module against moto_server.

The local poller and the DLQ reads use the operations CLI's stream reader and
SQS queue helper (cli/dynamodb_fanout, what ``pip install .`` installs), so a
local run reads the stream and the queues the way ``dynamodb-fanout`` does.
"""

import sys
from pathlib import Path

_CLI = str(Path(__file__).resolve().parent.parent / "cli")
if _CLI not in sys.path:
    sys.path.append(_CLI)
