"""A tenant's healing policy and the plan step's decision: approve automatically, or wait for a person.

Auto-approval needs all three: the fix's risk level is one the tenant auto-approves, fewer than
``max_auto_per_hour`` operations were auto-approved in the last hour, and no rollback happened within
the cooldown. Otherwise the operation waits for manual approval (it is never silently dropped).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

RISK_LEVELS: Final[tuple[str, ...]] = ("low", "medium", "high")


@dataclass(frozen=True, slots=True)
class HealingPolicy:
    auto_approve_risks: frozenset[str] = field(default_factory=frozenset)  # default: approve everything by hand
    max_auto_per_hour: int = 5
    cooldown_seconds: int = 3600  # after a rollback, no auto-approval for this long

    def __post_init__(self) -> None:
        unknown = set(self.auto_approve_risks) - set(RISK_LEVELS)
        if unknown:
            raise ValueError(f"unknown risk levels {sorted(unknown)}; use {', '.join(RISK_LEVELS)}")
        if not 0 <= self.max_auto_per_hour <= 10_000:
            raise ValueError("max_auto_per_hour must be between 0 and 10000")
        if not 0 <= self.cooldown_seconds <= 30 * 86400:
            raise ValueError("cooldown_seconds must be between 0 and 2592000 (30 days)")

    def to_dict(self) -> dict[str, Any]:
        return {"auto_approve_risks": [r for r in RISK_LEVELS if r in self.auto_approve_risks],
                "max_auto_per_hour": self.max_auto_per_hour, "cooldown_seconds": self.cooldown_seconds}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HealingPolicy:
        default = cls()
        return cls(auto_approve_risks=frozenset(data.get("auto_approve_risks") or ()),
                   max_auto_per_hour=int(data.get("max_auto_per_hour", default.max_auto_per_hour)),
                   cooldown_seconds=int(data.get("cooldown_seconds", default.cooldown_seconds)))


@dataclass(frozen=True, slots=True)
class ApprovalDecision:
    auto_approved: bool
    reason: str


def decide(policy: HealingPolicy, risk: str, auto_in_last_hour: int, last_rollback_at: datetime | None,
           now: datetime) -> ApprovalDecision:
    if risk not in RISK_LEVELS:
        raise ValueError(f"unknown risk level {risk!r}")
    if risk not in policy.auto_approve_risks:
        return ApprovalDecision(False, f"policy requires approval for {risk}-risk fixes")
    if last_rollback_at is not None and now - last_rollback_at < timedelta(seconds=policy.cooldown_seconds):
        left = int(policy.cooldown_seconds - (now - last_rollback_at).total_seconds())
        return ApprovalDecision(False, f"cooling down after a rollback ({left} s left): approval required")
    if auto_in_last_hour >= policy.max_auto_per_hour:
        return ApprovalDecision(False, f"{auto_in_last_hour} auto-executions in the last hour reach the limit "
                                       f"of {policy.max_auto_per_hour}: approval required")
    return ApprovalDecision(True, f"policy auto-approves {risk}-risk fixes")
