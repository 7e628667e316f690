"""Rate-limit windows shared by every Lambda instance (DynamoDB counters with a TTL).

A window opens at a client's first request and lasts ``window`` seconds; each request adds one to
its counter with an atomic ADD, so a burst of N requests counts N (never collapsed) and the
(limit + 1)-th request inside the window is refused, whichever instance serves it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.models import Model

from mao.adapters.dynamo import TTLEpochAttribute, bound_model, region
from mao.config import settings


@bound_model("MAO_RATE_LIMITS_TABLE", "mao-rate-limits")
class RateLimitModel(Model):
    class Meta:
        table_name = "mao-rate-limits"
        region = region()

    bucket = UnicodeAttribute(hash_key=True)
    window_start = NumberAttribute()
    hits = NumberAttribute(default=0)
    expires_at = TTLEpochAttribute()


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # unix seconds when the window ends

    def retry_after(self, now: float) -> int:
        return max(1, int(self.reset_at - now + 0.999))


def _conditional_failed(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException" or "ConditionalCheckFailed" in repr(exc)


def hit(bucket: str, limit: int, window: int, now: float) -> Verdict:
    """Count one request in ``bucket`` and say whether it is within ``limit`` per ``window`` seconds."""
    for _ in range(5):
        item = RateLimitModel(bucket)
        try:
            item.update(
                actions=[RateLimitModel.hits.add(1)],
                condition=RateLimitModel.window_start > (now - window),
            )
            count = int(item.hits)
            start = int(item.window_start)
            break
        except UpdateError as exc:
            if not _conditional_failed(exc):
                raise
        # No live window (first request, or the old one expired): open a new one.
        start = int(now)
        fresh = RateLimitModel(bucket, window_start=start, hits=1, expires_at=start + window + 60)
        try:
            fresh.save(condition=RateLimitModel.bucket.does_not_exist()
                       | (RateLimitModel.window_start <= (now - window)))
            count = 1
            break
        except PutError as exc:
            if not _conditional_failed(exc):
                raise
            continue  # another instance opened it first: count in that window
    else:  # pragma: no cover - only under pathological contention
        raise RuntimeError(f"rate limit window for {bucket!r} kept changing")
    reset_at = start + window
    return Verdict(count <= limit, limit, max(0, limit - count), reset_at)


def limits() -> tuple[int, int, int]:
    s = settings()
    return s.rate_limit_global, s.rate_limit_auth, s.rate_limit_window_seconds
