"""SQS event-source mapping, as Lambda does it: poll, deliver real SQS event batches, delete what
succeeded, leave failures for redelivery (honouring ``batchItemFailures``); the queue's redrive
policy moves a message to its DLQ after ``maxReceiveCount`` receives.

moto's own SQS->Lambda mapping runs synchronously inside SendMessage and ignores partial failures,
so it is not used. Lambda would wait out the visibility timeout before a retry; locally a failed
message becomes visible again after ``retry_delay`` seconds so the loop stays quick.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Any

from mao_local.functions import FunctionRegistry
from mao_local.template import SqsSource

log = logging.getLogger("mao_local.sqs")


def to_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    records = []
    for m in messages:
        attrs = m.get("Attributes", {})
        records.append({
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": {
                "ApproximateReceiveCount": attrs.get("ApproximateReceiveCount", "1"),
                "SentTimestamp": attrs.get("SentTimestamp", "0"),
                "SenderId": attrs.get("SenderId", "local"),
                "ApproximateFirstReceiveTimestamp": attrs.get("ApproximateFirstReceiveTimestamp", "0"),
                **({"MessageGroupId": attrs["MessageGroupId"]} if "MessageGroupId" in attrs else {}),
            },
            "messageAttributes": {
                k: {"stringValue": v.get("StringValue"), "binaryValue": v.get("BinaryValue"),
                    "stringListValues": [], "binaryListValues": [], "dataType": v.get("DataType")}
                for k, v in (m.get("MessageAttributes") or {}).items()},
            "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        })
    return {"Records": records}


class Poller:
    def __init__(self, source: SqsSource, queue_url: str, queue_arn: str, registry: FunctionRegistry,
                 sqs: Any, region: str, retry_delay: int = 1, wait_seconds: int = 1) -> None:
        self.source = source
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.registry = registry
        self.sqs = sqs
        self.region = region
        self.retry_delay = retry_delay
        self.wait_seconds = wait_seconds
        self._stop = threading.Event()
        self._paused = threading.Event()
        self.thread = threading.Thread(target=self._loop, name=f"sqs-{source.function}", daemon=True)
        self.batches = 0

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=self.wait_seconds + 5)

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self._paused.is_set():
                self._stop.wait(0.1)
                continue
            try:
                self.poll_once()
            except Exception:
                log.exception("poller for %s failed; continuing", self.source.function)
                self._stop.wait(1)

    def poll_once(self) -> int:
        resp = self.sqs.receive_message(QueueUrl=self.queue_url,
                                        MaxNumberOfMessages=min(10, self.source.batch_size),
                                        WaitTimeSeconds=self.wait_seconds, AttributeNames=["All"],
                                        MessageAttributeNames=["All"])
        messages = resp.get("Messages", [])
        if not messages:
            return 0
        self.batches += 1
        event = to_event(messages, self.queue_arn, self.region)
        failed: set[str]
        try:
            result = self.registry.invoke(self.source.function, event)
            failed = set()
            if self.source.report_failures and isinstance(result, dict):
                failed = {f["itemIdentifier"] for f in result.get("batchItemFailures") or []}
                known = {m["MessageId"] for m in messages}
                if failed - known:  # Lambda treats an unknown identifier as a whole-batch failure
                    failed = known
        except Exception:
            log.exception("function %s failed on a batch of %d", self.source.function, len(messages))
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        for m in messages:
            if m["MessageId"] in failed:
                self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"],
                                                   VisibilityTimeout=self.retry_delay)
        return len(messages)
