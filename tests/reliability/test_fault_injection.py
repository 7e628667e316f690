"""Fault injection on the local stack's ingest path. After recovery every accepted span is stored
exactly once: the stored count equals the accepted count and the checksums match."""

from __future__ import annotations

import time

import pytest

from tests.reliability import faults, otlp
from tests.reliability.ingest_check import send_traces, wait_stored

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def worker_poller(stack):
    return next(p for p in stack.pollers if p.source.function == faults.WORKER)


def assert_exactly_once(client, tenant, sent, stack) -> None:
    stored = wait_stored(client, tenant, sent)
    expected = otlp.checksum(otlp.sent_keys(sent.payloads))
    assert stored.duplicates == 0
    assert stored.spans == sent.accepted_spans, f"stored {stored.spans} of {sent.accepted_spans} accepted spans"
    assert stored.checksum == expected
    assert stored.traces_listed == len(sent.spans_by_trace)
    assert faults.dead_letters_of(stack, tenant.tenant_id) == 0


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(stack, client, tenant):
    counts = faults.FaultCounts()
    poller = worker_poller(stack)
    with faults.killed_mid_batch(stack, tenant.tenant_id, counts, every=1):
        poller.pause()  # let the messages pile up so the worker gets real multi-record batches
        sent = send_traces(client, tenant, traces=6, spans_per_trace=12, parts=6)
        poller.resume()
        assert_exactly_once(client, tenant, sent, stack)
    assert counts.batches_killed >= 1
    print(f"killed {counts.batches_killed} batches; {sent.accepted_spans} spans stored once")


def test_throttled_dynamodb_writes_are_retried_to_exactly_once(stack, client, tenant):
    counts = faults.FaultCounts()
    with faults.throttled_dynamodb(stack, tenant.tenant_id, counts, share=0.3):
        sent = send_traces(client, tenant, traces=5, spans_per_trace=8, parts=4)
        assert_exactly_once(client, tenant, sent, stack)
    assert counts.writes_throttled >= 3, counts
    print(f"throttled {counts.writes_throttled} of {counts.writes_seen} writes; {sent.accepted_spans} spans once")


def test_duplicated_and_reordered_deliveries_store_each_span_once(stack, client, tenant):
    poller = worker_poller(stack)
    poller.pause()
    try:
        time.sleep(1.5)  # a receive already in flight finishes
        sent = send_traces(client, tenant, traces=4, spans_per_trace=10, parts=5)
        resent = faults.redeliver_shuffled(stack, copies=2)
    finally:
        poller.resume()
    assert resent >= 2 * len(sent.payloads)
    assert_exactly_once(client, tenant, sent, stack)
    print(f"{resent} deliveries of {len(sent.payloads)} messages; {sent.accepted_spans} spans once")
