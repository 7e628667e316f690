"""Real checks of the stores MAO depends on (used by the health endpoint)."""

from __future__ import annotations

from collections.abc import Callable

from mao.adapters.aws import client
from mao.config import settings


def _check(fn: Callable[[], object]) -> str:
    try:
        fn()
        return "ok"
    except Exception as exc:  # the health endpoint reports, it never raises
        return f"error: {type(exc).__name__}"


def check_database() -> str:
    return _check(lambda: client("dynamodb").describe_table(TableName=settings().tenants_table))


def check_queues() -> str:
    url = settings().ingest_queue_url
    if not url:
        return "error: ingest queue not configured"
    return _check(lambda: client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"]))


def check_storage() -> str:
    return _check(lambda: client("s3").head_bucket(Bucket=settings().payload_bucket))
