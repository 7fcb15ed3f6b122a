"""The local run's stand-in for Lambda's event source mapping is the installed package's.

``dynamodb-fanout local-run`` and ``make demo`` read the stream with
``dynamodb_fanout.stream_poller`` (cli/dynamodb_fanout/stream_poller.py); this
name stays for what refers to it here.
"""

from dynamodb_fanout.stream_poller import PollerStats, StreamPoller, first_failed_index

__all__ = ["PollerStats", "StreamPoller", "first_failed_index"]
