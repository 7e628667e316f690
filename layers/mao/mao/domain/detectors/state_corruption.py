"""Operational: state corruption. A state payload key changes type, vanishes, or is overwritten with a
contradictory value between steps.

Only steps that carry a state payload are looked at; a run without states is never flagged (an absent
state is not evidence of anything). Nested payloads are flattened two levels deep ("order.total") and
capped per step. Checks between the state a key last had and its new state:

- type change: a key that held a list now holds a string, a dict now a number, "3" now 3...;
- vanished key: a full snapshot drops a key that held a value (only when consecutive states are
  snapshots, i.e. share most keys; partial updates legitimately omit keys);
- identity overwrite: an identifier (customer_id, user email, thread id, currency...) changes value
  mid-run;
- lost history: an append-only list (messages, history, events, log) shrinks;
- version regression: a version/revision/sequence number goes down.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import compress
from operator import attrgetter
from typing import Any

from mao.domain.detectors import _text_extra as tx
from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Evidence, Run, Step

SPEC = DetectorSpec(
    key="state_corruption",
    name="State corruption",
    version="1.0.0",
    thresholds={
        "min_confidence": ThresholdSpec(0.55, 0.0, 1.0, "lowest confidence reported"),
        "snapshot_overlap": ThresholdSpec(
            0.6, 0.1, 1.0, "key overlap that marks consecutive states as snapshots"
        ),
        "max_keys": ThresholdSpec(200, 10, 2000, "keys examined per state", integer=True),
    },
    fix_types=("retry_policy", "prompt_patch"),
)

_IDENTITY = re.compile(
    r"(?:^|[._])(?:id|uuid|user|user_?id|customer|customer_?id|account|account_?id|"
    r"email|tenant|"
    r"tenant_?id|session_?id|thread_?id|order_?id|ssn|currency|locale|patient_?id|"
    r"case_?id)$"
)
_VOLATILE = re.compile(
    r"(?:^|[._])(?:current|next|active|selected|last|prev|previous|temp|tmp|cursor|"
    r"page|step|"
    r"iteration|retry|attempt|node|request)(?:_|$)"
)
_APPEND_ONLY = re.compile(
    r"(?:^|[._])(?:messages|history|chat_history|events|log|logs|transcript|audit|"
    r"audit_log|"
    r"conversation|completed(?:_\w+)?|done(?:_\w+)?|findings|citations)$"
)
_VERSION = re.compile(r"(?:^|[._])(?:version|revision|rev|seq|sequence|generation)$")


_STATE = attrgetter("state")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _flatten(state: Mapping[str, Any], max_keys: int) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in state.items():
        if len(flat) >= max_keys:
            break
        flat[str(key)] = value
        if isinstance(value, Mapping):
            for sub, inner in value.items():
                if len(flat) >= max_keys:
                    break
                flat[f"{key}.{sub}"] = inner
    return flat


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    min_conf = float(thresholds.get("min_confidence", 0.55))
    overlap = float(thresholds.get("snapshot_overlap", 0.6))
    max_keys = int(thresholds.get("max_keys", 200))
    known: dict[str, tuple[Any, Step]] = {}
    prev_keys: set[str] | None = None
    prev_step: Step | None = None
    detections: list[Detection] = []
    reported: set[str] = set()
    for step in compress(run.steps, map(_STATE, run.steps)):  # most steps carry no state: skipped in C
        if not isinstance(step.state, Mapping):
            continue
        flat = _flatten(step.state, max_keys)
        keys = set(flat)
        issues: list[tuple[str, float, str, Step]] = []
        for key, value in flat.items():
            if key not in known:
                continue
            old, old_step = known[key]
            issue = _compare(key, old, value)
            if issue is not None:
                issues.append((key, issue[0], issue[1], old_step))
        if prev_keys is not None and prev_step is not None and prev_keys:
            shared = len(prev_keys & keys) / len(prev_keys)
            if shared >= overlap:
                for key in sorted(prev_keys - keys):
                    old, old_step = known[key]
                    if "." in key and key.split(".", 1)[0] not in keys:
                        continue  # its parent vanished; reported once for the parent
                    if not _empty(old):
                        issues.append((key, 0.65, f"vanished (it held {_show(old)})", old_step))
        for key, confidence, what, old_step in issues:
            if key in reported or confidence < min_conf:
                continue
            reported.add(key)
            detections.append(_make(key, confidence, what, old_step, step))
        for key, value in flat.items():
            known[key] = (value, step)
        prev_keys, prev_step = keys, step
    return detections[:10]


def _compare(key: str, old: Any, new: Any) -> tuple[float, str] | None:
    k_old, k_new = _kind(old), _kind(new)
    if k_old != k_new and "null" not in (k_old, k_new):
        return 0.8, f"changed type from {k_old} ({_show(old)}) to {k_new} ({_show(new)})"
    leaf = key.lower()
    if (
        k_old == k_new
        and k_old in ("string", "number")
        and old != new
        and not _empty(old)
        and not _empty(new)
    ):
        if _IDENTITY.search(leaf) and not _VOLATILE.search(leaf):
            return 0.75, f"identifier overwritten from {_show(old)} to {_show(new)}"
        if k_old == "number" and _VERSION.search(leaf) and new < old:
            return 0.65, f"went backwards from {_show(old)} to {_show(new)}"
    if k_old == "list" and k_new == "list" and _APPEND_ONLY.search(leaf) and len(new) < len(old):
        return 0.7, f"lost entries: {len(old)} -> {len(new)}"
    if k_new == "null" and not _empty(old) and _IDENTITY.search(leaf) and not _VOLATILE.search(leaf):
        return 0.6, f"identifier cleared (it held {_show(old)})"
    return None


def _show(value: Any) -> str:
    return tx.quote(repr(value), 60)


def _make(key: str, confidence: float, what: str, before: Step, after: Step) -> Detection:
    explanation = (
        f"State key '{key}' {what} between step {before.index} ({before.agent}) and step "
        f"{after.index} ({after.agent}). Downstream agents now read a corrupted state; validate "
        f"state updates against a schema and reject writes that change a key's type or identity."
    )
    evidence = [
        Evidence(
            ref=before.ref,
            step_index=before.index,
            quote=tx.quote(f"{key} = {_value(before, key)}"),
            note="before",
        ),
        Evidence(
            ref=after.ref,
            step_index=after.index,
            quote=tx.quote(f"{key} = {_value(after, key)}"),
            note="after",
        ),
    ]
    return Detection(
        type=SPEC.key,
        f_code=None,
        confidence=round(confidence, 4),
        severity=tx.severity_for(confidence),
        explanation=explanation,
        evidence=evidence,
        detector_version=SPEC.version,
        details={"key": key},
    )


def _value(step: Step, key: str) -> str:
    state = step.state or {}
    head, _, tail = key.partition(".")
    value: Any = state.get(head, "(absent)") if key not in state else state[key]
    if tail and isinstance(value, Mapping):
        value = value.get(tail, "(absent)")
    return repr(value)
