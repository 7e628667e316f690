"""Import worker (SQS ImportQueue, batch size 1, partial batch failures): each message names an
import job; the job is processed from its checkpoint until done or until the invocation's time runs
short, when it queues its own continuation. A failure leaves the message for redelivery, which
resumes from the last checkpoint; after the queue's maxReceiveCount it goes to the dead-letter queue."""

from __future__ import annotations

import json
import logging
from typing import Any

log = logging.getLogger("mao.import_worker")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from mao.services.imports import handle_message

    def remaining_ms() -> int:
        return int(context.get_remaining_time_in_millis()) if context is not None else 900_000

    failures: list[dict[str, str]] = []
    for record in event.get("Records") or []:
        try:
            message = json.loads(record.get("body") or "{}")
            if not isinstance(message, dict):
                raise ValueError("import message must be a JSON object")
        except ValueError:
            log.error("dropping malformed import message %s", record.get("messageId"))
            continue
        try:
            outcome = handle_message(message, remaining_ms)
            log.info("import job %s: %s", message.get("job_id"), outcome)
        except Exception:
            log.exception("import job %s failed; will be retried", message.get("job_id"))
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
