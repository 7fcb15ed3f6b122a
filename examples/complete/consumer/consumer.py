"""Example consumer: logs each EventBridge event it receives from the fan-out.

Delivery is at-least-once and unordered, so a real consumer de-duplicates on
``detail.eventID`` and compares ``detail.sequenceNumber`` before acting.
"""

import json
import logging

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def handler(event, _context):
    """Log the change and return its id."""
    detail = event.get("detail", {})
    logger.info(
        "%s %s keys=%s event=%s",
        event.get("detail-type"),
        detail.get("tableName"),
        json.dumps(detail.get("keys")),
        json.dumps(event),
    )
    return {"eventID": detail.get("eventID")}
