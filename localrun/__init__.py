"""Local runs of the module against moto_server.

The local run plays the event source mapping with `dynamodb-fanout local-run`'s
own code, and reads the queues with the CLI's SQS helper (cli/dynamodb_fanout,
what ``pip install .`` installs); the handler is the ``fanout`` package of
lambda_src/, from which dist/fanout.zip is built. Both are put on sys.path here.
"""

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
for _code in (_ROOT / "cli", _ROOT / "lambda_src"):
    if str(_code) not in sys.path:
        sys.path.append(str(_code))
