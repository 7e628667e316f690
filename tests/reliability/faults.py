"""Fault injection on the in-process ingest worker: a worker that dies mid-batch, DynamoDB writes
that throttle, and SQS deliveries duplicated and reordered.

Faults hit a message's first delivery only (the queue moves a message to its dead-letter queue after
three receives, so a fault on every delivery would be a poison message, not a transient fault).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

WORKER = "IngestWorkerFunction"
DYNAMO_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
_delivery = threading.local()


class WorkerKilled(Exception):
    """Stands for the worker process dying: the invocation ends without deleting its batch."""


@dataclass
class FaultCounts:
    batches_killed: int = 0
    writes_throttled: int = 0
    writes_seen: int = 0


def first_delivery() -> bool:
    return bool(getattr(_delivery, "first", False))


def _mark_delivery(event: dict[str, Any]) -> None:
    counts = [int(r.get("attributes", {}).get("ApproximateReceiveCount", "1")) for r in event.get("Records", [])]
    _delivery.first = bool(counts) and max(counts) == 1


@contextmanager
def wrapped_worker(stack: Any, wrapper: Callable[[Callable[..., Any], dict[str, Any], Any], Any]) -> Iterator[None]:
    """Replace the worker's handler (as the local runtime calls it) with ``wrapper(real, event, ctx)``."""
    registry = stack.registry
    real = registry.handler(WORKER)
    with registry._lock:
        registry._handlers[WORKER] = lambda event, context: wrapper(real, event, context)
    try:
        yield
    finally:
        with registry._lock:
            registry._handlers[WORKER] = real


@contextmanager
def killed_mid_batch(stack: Any, tenant_id: str, counts: FaultCounts, every: int = 2) -> Iterator[None]:
    """Every ``every``-th first-delivery batch holding the tenant's messages: the first half of its
    records is processed (spans written), then the worker dies before answering."""
    seen = [0]

    def wrapper(real: Callable[..., Any], event: dict[str, Any], context: Any) -> Any:
        _mark_delivery(event)
        mine = any(tenant_id in r.get("body", "") for r in event.get("Records", []))
        if mine and first_delivery():
            seen[0] += 1
            if seen[0] % every == 1 or every == 1:
                records = event["Records"]
                half = {**event, "Records": records[: max(1, len(records) // 2)]}
                real(half, context)
                counts.batches_killed += 1
                raise WorkerKilled("worker killed mid-batch")
        return real(event, context)

    with wrapped_worker(stack, wrapper):
        yield


@contextmanager
def throttled_dynamodb(stack: Any, tenant_id: str, counts: FaultCounts, share: float, seed: int = 7) -> Iterator[None]:
    """DynamoDB answers ``ProvisionedThroughputExceededException`` to ``share`` of the worker's writes
    for the tenant (on first deliveries), through the botocore call path PynamoDB and boto3 share."""
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError

    rng = random.Random(seed)
    real_call = BaseClient._make_api_call

    def call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if (operation_name in DYNAMO_WRITES and self.meta.service_model.service_name == "dynamodb"
                and threading.current_thread().name == f"sqs-{WORKER}" and first_delivery()
                and tenant_id in str(api_params)):
            counts.writes_seen += 1
            if rng.random() < share:
                counts.writes_throttled += 1
                raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException",
                                             "Message": "injected throttling"},
                                   "ResponseMetadata": {"HTTPStatusCode": 400}}, operation_name)
        return real_call(self, operation_name, api_params)

    def wrapper(real: Callable[..., Any], event: dict[str, Any], context: Any) -> Any:
        _mark_delivery(event)
        return real(event, context)

    BaseClient._make_api_call = call  # type: ignore[method-assign]
    try:
        with wrapped_worker(stack, wrapper):
            yield
    finally:
        BaseClient._make_api_call = real_call  # type: ignore[method-assign]


def redeliver_shuffled(stack: Any, copies: int = 2, seed: int = 11) -> int:
    """Take every waiting message off the ingest queue and send each back ``copies`` times, in
    reversed-then-shuffled order (the worker's poller must be paused). Returns messages re-sent."""
    import boto3

    sqs = boto3.client("sqs", region_name=stack.config.region)
    url = stack.physical("IngestQueue").attrs["QueueUrl"]
    bodies: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            break
        bodies += [m["Body"] for m in got]
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
    order = [b for b in reversed(bodies) for _ in range(copies)]
    random.Random(seed).shuffle(order)
    for body in order:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    return len(order)


def queue_counts(stack: Any, logical: str) -> int:
    import boto3

    sqs = boto3.client("sqs", region_name=stack.config.region)
    attrs = sqs.get_queue_attributes(QueueUrl=stack.physical(logical).attrs["QueueUrl"], AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def dead_letters_of(stack: Any, tenant_id: str) -> int:
    import boto3

    sqs = boto3.client("sqs", region_name=stack.config.region)
    url = stack.physical("IngestDeadLetterQueue").attrs["QueueUrl"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                              VisibilityTimeout=0).get("Messages", [])
    return sum(tenant_id in m["Body"] for m in got)
