"""Per-tenant counters in DynamoDB: monthly usage, metric totals and latency histogram buckets.

One row per (tenant, key), incremented with an atomic ADD, so every Lambda instance reads and writes
the same numbers. Quota-checked increments add only if the result stays within the limit, in the same
conditional write, so concurrent ingests cannot overshoot a plan together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.models import Model

from mao.adapters.dynamo import bound_model, region, utcnow
from mao.domain.metrics_model import CounterRow


@bound_model("MAO_USAGE_TABLE", "mao-usage")
class CounterModel(Model):
    class Meta:
        table_name = "mao-usage"
        region = region()

    tenant_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    value = NumberAttribute(default=0)
    sum = NumberAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)


class LimitExceeded(Exception):
    def __init__(self, current: int) -> None:
        super().__init__(f"limit exceeded at {current}")
        self.current = current


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException" \
        or "ConditionalCheckFailed" in repr(exc)


def add(tenant_id: str, increments: Mapping[str, float], sums: Mapping[str, float] | None = None) -> None:
    """Add to several counters (each its own atomic update); zero increments are skipped."""
    now = utcnow()
    for key, amount in increments.items():
        extra = (sums or {}).get(key)
        if not amount and not extra:
            continue
        actions = [CounterModel.value.add(amount), CounterModel.updated_at.set(now)]
        if extra is not None:
            actions.append(CounterModel.sum.add(extra))
        CounterModel(tenant_id, key).update(actions=actions)


def add_within(tenant_id: str, key: str, amount: int, limit: int | None) -> int:
    """Add ``amount`` unless the counter would pass ``limit``; returns the new value.

    Raises ``LimitExceeded`` (with the current value) when refused."""
    item = CounterModel(tenant_id, key)
    actions = [CounterModel.value.add(amount), CounterModel.updated_at.set(utcnow())]
    if limit is None:
        item.update(actions=actions)
        return int(item.value)
    condition = CounterModel.value.does_not_exist() | (CounterModel.value <= limit - amount)
    if amount > limit:
        raise LimitExceeded(get(tenant_id, [key]).get(key, 0))
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if _conditional_failed(exc):
            raise LimitExceeded(get(tenant_id, [key]).get(key, 0)) from None
        raise
    return int(item.value)


def get(tenant_id: str, keys: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key in keys:
        try:
            out[key] = int(CounterModel.get(tenant_id, key, consistent_read=True).value)
        except DoesNotExist:
            out[key] = 0
    return out


def rows(tenant_id: str) -> list[CounterRow]:
    return [CounterRow(r.tenant_id, r.key, float(r.value), None if r.sum is None else float(r.sum))
            for r in CounterModel.query(tenant_id, consistent_read=True)]


def all_rows() -> list[CounterRow]:
    """Every tenant's counters (operators only)."""
    return [CounterRow(r.tenant_id, r.key, float(r.value), None if r.sum is None else float(r.sum))
            for r in CounterModel.scan()]
