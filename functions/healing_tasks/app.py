"""The HealingStateMachine's task steps, one handler per state (``app.plan``, ``app.snapshot``, ...).

An exception's class name is the error name the state machine's Retry and Catch match on.
"""

from __future__ import annotations

from typing import Any

from mao.services import healing


def plan(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return healing.task_plan(event)


def await_approval(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return healing.task_await_approval(event)


def snapshot(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return healing.task_snapshot(event)


def apply(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return healing.task_apply(event)


def verify(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return healing.task_verify(event)


def rollback(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return healing.task_rollback(event)


def fail(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return healing.task_fail(event)
