"""The healing operation's statuses and the transitions between them.

``pending_approval -> approved -> executing -> applied -> (verified | failed -> rolled_back)``, plus
``rejected`` (instead of approval) and ``rolled_back`` on request once something was applied. Planning
or snapshot errors end in ``failed`` with nothing applied, and such an operation cannot be rolled back.
"""

from __future__ import annotations

from typing import Final, Literal

Status = Literal["pending_approval", "approved", "rejected", "executing", "applied", "verified", "failed",
                 "rolled_back"]

STATUSES: Final[tuple[str, ...]] = ("pending_approval", "approved", "rejected", "executing", "applied",
                                    "verified", "failed", "rolled_back")

TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "pending_approval": frozenset({"approved", "rejected", "failed"}),
    "approved": frozenset({"executing", "failed"}),
    "rejected": frozenset(),
    "executing": frozenset({"applied", "failed"}),
    "applied": frozenset({"verified", "failed", "rolled_back"}),
    "verified": frozenset({"rolled_back", "failed"}),
    "failed": frozenset({"rolled_back"}),
    "rolled_back": frozenset(),
}

TERMINAL: Final[frozenset[str]] = frozenset({"rejected", "rolled_back"})


class IllegalTransition(Exception):
    """A status change the operation's state machine does not allow (the API answers 409)."""

    def __init__(self, current: str, target: str, reason: str | None = None) -> None:
        self.current = current
        self.target = target
        super().__init__(reason or f"cannot go from {current!r} to {target!r}")


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def check_transition(current: str, target: str) -> None:
    if current not in TRANSITIONS:
        raise IllegalTransition(current, target, f"unknown status {current!r}")
    if not can_transition(current, target):
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final)"
        raise IllegalTransition(current, target,
                                f"cannot go from {current!r} to {target!r}; allowed from here: {allowed}")


def check_rollback(current: str, snapshot_taken: bool) -> None:
    """Rollback needs something applied to undo: a snapshot taken before the change reached the target."""
    check_transition(current, "rolled_back")
    if not snapshot_taken:
        raise IllegalTransition(current, "rolled_back", "nothing was applied, so there is nothing to roll back")


def check_execute(current: str, waiting_for_go: bool) -> None:
    """Execute is allowed once approved and while the state machine waits at its approval step."""
    if current == "pending_approval":
        raise IllegalTransition(current, "executing", "the operation must be approved before it is executed")
    check_transition(current, "executing")
    if not waiting_for_go:
        raise IllegalTransition(current, "executing",
                                "the operation is not waiting for execution (still planning or already running)")
