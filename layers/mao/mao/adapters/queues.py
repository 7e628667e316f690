"""The SQS ingest queue: sending claim-check messages and reading its depth (for backpressure)."""

from __future__ import annotations

import json
from typing import Any

from mao.adapters.aws import client
from mao.config import settings


def _ingest_url() -> str:
    url = settings().ingest_queue_url
    if not url:
        raise RuntimeError("MAO_INGEST_QUEUE_URL is not configured")
    return url


def send_ingest(message: dict[str, Any]) -> str:
    """Enqueue one ingest message; returns the SQS message id."""
    resp = client("sqs").send_message(QueueUrl=_ingest_url(), MessageBody=json.dumps(message))
    return str(resp["MessageId"])


def ingest_queue_depth() -> int:
    """Messages waiting on the ingest queue, the backlog (one GetQueueAttributes call)."""
    attrs = client("sqs").get_queue_attributes(
        QueueUrl=_ingest_url(), AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attrs.get("ApproximateNumberOfMessages", 0))
