"""Ingest worker: SQS batches of claim-check messages -> decoded, normalised, stored spans.

Each record is processed on its own; failures are reported per record (``batchItemFailures``) so
only they are retried, and after the queue's ``maxReceiveCount`` a poison message moves to the
dead-letter queue. Storing is idempotent, so a re-delivered message never duplicates spans.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from mao.services import ingest

log = logging.getLogger("mao.ingest_worker")
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> dict[str, Any]:
    try:
        message = json.loads(record.body)
    except ValueError:
        raise ingest.PoisonMessage(f"message {record.message_id} is not JSON") from None
    if not isinstance(message, dict):
        raise ingest.PoisonMessage(f"message {record.message_id} is not a JSON object")
    result = ingest.process_message(message)
    log.info("stored spans", extra={"tenant_id": message.get("tenant_id"), "new": result.new,
                                    "updated": result.updated, "duplicate": result.duplicate,
                                    "traces": len(result.trace_ids)})
    return {"new": result.new, "updated": result.updated, "duplicate": result.duplicate,
            "trace_ids": result.trace_ids}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)
