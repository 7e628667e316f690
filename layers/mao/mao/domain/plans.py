"""Pricing plans, their limits, and the quota arithmetic (pure: no storage, no clock of its own).

Usage is counted per calendar month (UTC). A limit of ``None`` means unlimited. A request that would
take a counter past its plan's limit is refused as a whole; the caller retries after the month rolls
over (``seconds_until_next_period``) or after upgrading.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

PlanName = Literal["free", "pro", "team", "enterprise"]
UsageKind = Literal["spans", "traces", "detections"]
PLAN_ORDER: tuple[PlanName, ...] = ("free", "pro", "team", "enterprise")


@dataclass(frozen=True, slots=True)
class PlanLimits:
    spans_per_month: int | None
    traces_per_month: int | None
    detections_per_month: int | None
    retention_days: int
    seats: int | None

    def for_kind(self, kind: UsageKind) -> int | None:
        return {"spans": self.spans_per_month, "traces": self.traces_per_month,
                "detections": self.detections_per_month}[kind]


@dataclass(frozen=True, slots=True)
class Plan:
    name: PlanName
    display_name: str
    price_usd_month: int | None  # None: priced on request
    limits: PlanLimits
    features: tuple[str, ...]
    self_serve: bool  # can be bought through Checkout

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["features"] = list(self.features)
        return out


PLANS: dict[str, Plan] = {
    "free": Plan("free", "Free", 0,
                 PlanLimits(spans_per_month=50_000, traces_per_month=5_000, detections_per_month=1_000,
                            retention_days=7, seats=1),
                 ("all 16 failure detectors", "API and OTLP ingest", "community support"), False),
    "pro": Plan("pro", "Pro", 49,
                PlanLimits(spans_per_month=1_000_000, traces_per_month=100_000, detections_per_month=25_000,
                           retention_days=30, seats=5),
                ("everything in Free", "healing workflows", "Datadog and Prometheus export",
                 "email support"), True),
    "team": Plan("team", "Team", 199,
                 PlanLimits(spans_per_month=10_000_000, traces_per_month=1_000_000,
                            detections_per_month=250_000, retention_days=90, seats=25),
                 ("everything in Pro", "workflow groups", "SSO-ready API keys per member",
                  "priority support"), True),
    "enterprise": Plan("enterprise", "Enterprise", None,
                       PlanLimits(spans_per_month=None, traces_per_month=None, detections_per_month=None,
                                  retention_days=365, seats=None),
                       ("everything in Team", "unlimited usage", "custom retention", "dedicated support"),
                       True),
}


def get_plan(name: str | None) -> Plan:
    """The named plan; unknown or missing names fall back to the free plan."""
    return PLANS.get(name or "free", PLANS["free"])


def is_plan(name: str) -> bool:
    return name in PLANS


def period_of(now: datetime) -> str:
    """The usage period (``YYYY-MM``, UTC) a moment falls in."""
    return now.astimezone(UTC).strftime("%Y-%m")


def period_bounds(now: datetime) -> tuple[datetime, datetime]:
    """Start (inclusive) and end (exclusive) of the calendar month containing ``now`` (UTC)."""
    now = now.astimezone(UTC)
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    end = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def seconds_until_next_period(now: datetime) -> int:
    _, end = period_bounds(now)
    return max(1, int((end - now.astimezone(UTC)).total_seconds() + 0.999))


@dataclass(frozen=True, slots=True)
class QuotaVerdict:
    allowed: bool
    kind: UsageKind
    plan: str
    limit: int | None
    used: int  # after this request if allowed, before it if refused
    requested: int
    retry_after: int | None = None

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)

    def message(self) -> str:
        if self.allowed:
            return "within quota"
        return (f"monthly {self.kind} quota of the {self.plan!r} plan exceeded: {self.used} of {self.limit} used, "
                f"{self.requested} more requested; upgrade the plan or retry after {self.retry_after} s "
                "when the next period starts")


def evaluate(plan: Plan, kind: UsageKind, used: int, requested: int, now: datetime) -> QuotaVerdict:
    """Would ``requested`` more units fit in the plan's monthly limit, given ``used`` so far?"""
    limit = plan.limits.for_kind(kind)
    if limit is None or used + requested <= limit:
        return QuotaVerdict(True, kind, plan.name, limit, used + requested, requested)
    return QuotaVerdict(False, kind, plan.name, limit, used, requested, seconds_until_next_period(now))


def usage_report(plan: Plan, used: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Usage against each limit, for the billing status page."""
    out: dict[str, dict[str, Any]] = {}
    for kind in ("spans", "traces", "detections"):
        limit = plan.limits.for_kind(kind)  # type: ignore[arg-type]
        count = int(used.get(kind, 0))
        out[kind] = {"used": count, "limit": limit,
                     "remaining": None if limit is None else max(0, limit - count),
                     "percent": None if not limit else round(100 * count / limit, 2)}
    return out


# Subscription states (Stripe's vocabulary) under which the paid plan stays in force. ``past_due`` keeps
# the plan during the payment retry window; the status page shows the failed payment.
_PAID_STATES = frozenset({"active", "trialing", "past_due"})


def effective_plan(subscription_status: str | None, subscribed_plan: str | None) -> PlanName:
    """The plan a tenant gets, given its subscription's status and the plan it pays for."""
    if subscription_status in _PAID_STATES and subscribed_plan and is_plan(subscribed_plan):
        return subscribed_plan  # type: ignore[return-value]
    return "free"
