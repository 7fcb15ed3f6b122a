"""dynamodb-fanout: operate a DynamoDB Stream → EventBridge fan-out.

Subcommands re-publish parked events (``redrive``), seed consumers with the
items already in a table (``backfill``), replay batches Lambda gave up on
(``replay``), try an event pattern on sample records (``check-pattern``) and
play Lambda's event source mapping for a root on moto (``local-run``).
Each one converts, batches and publishes with the handler's own code (the
``fanout`` package), so what the CLI sends is what the function would send.
"""

__version__ = "0.4.0"
