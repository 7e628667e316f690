"""Fixes and self-healing: suggestions for a detection, recorded applications, healing operations driven
by the HealingStateMachine, and the state machine's task steps.

API side: ``list_fixes``, ``apply_fix``, ``create_operation``, ``approve``, ``reject``, ``execute``,
``request_rollback``, policy / webhook / agent-configuration helpers. Task side (``task_*``): one
function per state of ``infra/statemachines/healing.asl.json``; the exceptions they raise are the
error names the state machine's Retry and Catch match on.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from mao.adapters import healing as store
from mao.adapters import targets
from mao.adapters.dynamo import utcnow
from mao.domain.fixes.catalogue import DetectionRef, FixSuggestion, agents_from, suggest
from mao.domain.fixes.policy import HealingPolicy, decide
from mao.domain.fixes.states import IllegalTransition, check_execute, check_rollback

log = logging.getLogger(__name__)

SYSTEM = "healing-state-machine"


class OperationNotFound(Exception):
    """The state machine was started for an operation that does not exist."""


class Rejected(Exception):
    """The operation was rejected while waiting for approval."""


class NotFound(Exception):
    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} {ident!r} not found")
        self.what, self.ident = what, ident


class InvalidTarget(ValueError):
    """The target given for an operation cannot take this fix."""


# ---------------------------------------------------------------- detections and fixes
@dataclass(frozen=True, slots=True)
class DetectionInfo:
    ref: DetectionRef
    fix_types: tuple[str, ...]
    source_kind: str | None
    source_id: str | None


def _framework(tenant_id: str, kind: str | None, source_id: str | None) -> str:
    if not source_id:
        return "unknown"
    if kind == "conversation":
        from mao.adapters import conversations

        conv = conversations.get_conversation(tenant_id, source_id)
        return str(conv.framework) if conv is not None else "unknown"
    from mao.adapters import traces

    trace = traces.get_trace(tenant_id, source_id)
    if trace is None:
        return "unknown"
    return str(trace.summary_dict().get("framework") or "unknown")


def detection_info(tenant_id: str, detection_id: str) -> DetectionInfo:
    from mao.adapters import detections
    from mao.domain.detectors import registry

    record = detections.get_detection(tenant_id, detection_id)
    if record is None:
        raise NotFound("detection", detection_id)
    details = dict(record.details or {})
    try:
        fix_types = tuple(registry.spec(record.detection_type).fix_types)
    except KeyError:
        fix_types = ()
    framework = _framework(tenant_id, record.source_kind, record.source_id)
    ref = DetectionRef(detection_id, record.detection_type, framework, record.f_code, details, agents_from(details))
    return DetectionInfo(ref, fix_types, record.source_kind, record.source_id)


def list_fixes(tenant_id: str, detection_id: str) -> tuple[DetectionInfo, list[FixSuggestion]]:
    info = detection_info(tenant_id, detection_id)
    return info, suggest(info.ref, info.fix_types)


def find_fix(tenant_id: str, detection_id: str, fix_id: str) -> tuple[DetectionInfo, FixSuggestion]:
    info, fixes = list_fixes(tenant_id, detection_id)
    fix = next((f for f in fixes if f.fix_id == fix_id), None)
    if fix is None:
        raise NotFound("fix", fix_id)
    return info, fix


def apply_fix(tenant_id: str, detection_id: str, fix_id: str, by: str, note: str | None,
              target: dict[str, Any] | None) -> store.HistoryModel:
    """Record that a fix was applied by hand (who, when, what)."""
    _, fix = find_fix(tenant_id, detection_id, fix_id)
    return store.add_history(tenant_id, detection_id=detection_id, fix_id=fix.fix_id, fix_type=fix.fix_type,
                             risk=fix.risk, source="manual", applied_by=by, note=note, target=target,
                             changes=[dict(op) for op in fix.ops])


def history_view(record: store.HistoryModel) -> dict[str, Any]:
    return {"history_id": record.history_id, "detection_id": record.detection_id, "fix_id": record.fix_id,
            "fix_type": record.fix_type, "risk": record.risk, "source": record.source,
            "operation_id": record.operation_id, "applied_by": record.applied_by,
            "applied_at": record.applied_at.isoformat(), "note": record.note, "target": record.target,
            "changes": record.changes,
            "rolled_back_at": record.rolled_back_at.isoformat() if record.rolled_back_at else None}


# ---------------------------------------------------------------- operations (API side)
N8N_KEY_PURPOSE = "healing-n8n-api-key"
OUTCOMES = frozenset({"verified", "rolled_back", "failed", "rejected"})


def _transition(op: store.OperationModel, status: str, *args: Any, **kwargs: Any) -> Any:
    """Move an operation and, when it settles, count the outcome in the tenant's stored metrics."""
    result = store.transition(op, status, *args, **kwargs)
    if status in OUTCOMES:
        try:
            from mao.services import metrics

            metrics.record_healing(op.tenant_id, status)
        except Exception:  # metrics are best effort: never fail a healing step for them
            log.warning("could not record healing outcome", exc_info=True)
    return result


def _envelopes() -> Any:
    from mao.adapters import secrets as envelopes

    return envelopes


def _resolve_target(tenant_id: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A stored target spec made usable by a driver (webhook ids become their URL and secret)."""
    if spec["type"] == "webhook":
        hook = store.get_webhook(tenant_id, spec["webhook_id"])
        if hook is None:
            raise targets.TargetApplyFailed(f"webhook target {spec['webhook_id']!r} no longer exists")
        return {"type": "webhook", "webhook_id": hook.webhook_id, "url": hook.url,
                "secret": store.webhook_secret(hook)}
    if spec["type"] == "n8n":
        resolved = {k: v for k, v in spec.items() if k != "api_key_enc"}
        resolved["api_key"] = _envelopes().decrypt(spec["api_key_enc"], tenant_id, N8N_KEY_PURPOSE) \
            if spec.get("api_key_enc") else ""
        return resolved
    return dict(spec)


def validate_target(tenant_id: str, fix: FixSuggestion, spec: dict[str, Any]) -> dict[str, Any]:
    kind = spec.get("type")
    if kind not in fix.target_types:
        raise InvalidTarget(f"a {fix.target_kind} fix applies to {' or '.join(fix.target_types)} targets, "
                            f"not {kind!r}")
    if kind == "n8n":
        try:
            base = targets.check_target_url(str(spec["base_url"]))
        except targets.UnsafeUrlError as exc:
            raise InvalidTarget(f"base_url: {exc}") from None
        # The n8n API key is stored only as an envelope and decrypted when a task calls n8n.
        stored = {"type": "n8n", "base_url": base, "workflow_id": str(spec["workflow_id"])}
        if spec.get("api_key"):
            stored["api_key_enc"] = _envelopes().encrypt(str(spec["api_key"]), tenant_id, N8N_KEY_PURPOSE)
        return stored
    if kind == "webhook":
        if store.get_webhook(tenant_id, str(spec["webhook_id"])) is None:
            raise InvalidTarget(f"webhook target {spec['webhook_id']!r} is not registered")
        return {"type": "webhook", "webhook_id": str(spec["webhook_id"])}
    return {"type": "agent_config", "agent_id": str(spec["agent_id"])}


def _machine_arn() -> str:
    arn = os.environ.get("MAO_HEALING_STATE_MACHINE_ARN", "")
    if not arn:
        raise RuntimeError("MAO_HEALING_STATE_MACHINE_ARN is not configured")
    return arn


def _start(op: store.OperationModel, action: str, suffix: str) -> str:
    from mao.adapters.aws import client

    payload = {"action": action, "tenant_id": op.tenant_id, "operation_id": op.operation_id}
    resp = client("stepfunctions").start_execution(stateMachineArn=_machine_arn(), name=f"{op.operation_id}-{suffix}",
                                                   input=json.dumps(payload))
    return str(resp["executionArn"])


def create_operation(tenant_id: str, detection_id: str, fix_id: str, target: dict[str, Any],
                     by: str) -> store.OperationModel:
    _, fix = find_fix(tenant_id, detection_id, fix_id)
    spec = validate_target(tenant_id, fix, target)
    op = store.new_operation(tenant_id, detection_id=detection_id, fix_id=fix.fix_id, fix_type=fix.fix_type,
                             risk=fix.risk, fix=fix.to_dict(), target=spec, created_by=by)
    store.put_operation(op)
    arn = _start(op, "run", "run")
    return store.set_fields(op, execution_arn=arn)


def get_operation(tenant_id: str, operation_id: str) -> store.OperationModel:
    op = store.get_operation(tenant_id, operation_id)
    if op is None:
        raise NotFound("operation", operation_id)
    return op


def approve(tenant_id: str, operation_id: str, by: str) -> store.OperationModel:
    op = get_operation(tenant_id, operation_id)
    return _transition(op, "approved", by, "approved", approved_by=by)


def reject(tenant_id: str, operation_id: str, by: str, reason: str | None) -> store.OperationModel:
    from mao.adapters.aws import client

    op = get_operation(tenant_id, operation_id)
    token = op.task_token
    _transition(op, "rejected", by, reason or "rejected", task_token=None)
    if token:
        _send(lambda: client("stepfunctions").send_task_failure(taskToken=token, error="Rejected",
                                                                cause=(reason or "rejected")[:256]))
    return op


def execute(tenant_id: str, operation_id: str, by: str) -> store.OperationModel:
    from mao.adapters.aws import client

    op = get_operation(tenant_id, operation_id)
    check_execute(op.status, bool(op.task_token))
    token = op.task_token
    _transition(op, "executing", by, "execution started", task_token=None)
    _send(lambda: client("stepfunctions").send_task_success(taskToken=token,
                                                            output=json.dumps({"executed_by": by})))
    return op


def _send(call: Any) -> None:
    try:
        call()
    except Exception as exc:  # the machine stopped waiting (timeout, or it ended): say so, do not 500
        if "TaskDoesNotExist" in repr(exc) or "TaskTimedOut" in repr(exc) or "InvalidToken" in repr(exc):
            raise IllegalTransition("unknown", "executing", "the state machine is no longer waiting") from None
        raise


def _running(op: store.OperationModel, settle_seconds: float = 3.0) -> bool:
    """Whether the operation's execution is still running. A settled status (applied/verified) is
    written by the last task, a moment before the execution itself ends: give it that moment."""
    if not op.execution_arn:
        return False
    import time

    from mao.adapters.aws import client

    deadline = time.monotonic() + settle_seconds
    while True:
        status = client("stepfunctions").describe_execution(executionArn=op.execution_arn)["status"]
        if status != "RUNNING" or time.monotonic() >= deadline:
            return status == "RUNNING"
        time.sleep(0.1)


def request_rollback(tenant_id: str, operation_id: str, by: str) -> store.OperationModel:
    op = get_operation(tenant_id, operation_id)
    check_rollback(op.status, bool(op.snapshot_taken))
    if _running(op):
        raise IllegalTransition(op.status, "rolled_back", "the operation is still running; wait until it settles")
    history = [*op.history, store.status_entry(op.status, by, "rollback requested")]
    store.set_fields(op, history=history)
    arn = _start(op, "rollback", f"rollback-{len(history)}")
    return store.set_fields(op, execution_arn=arn)


def operation_view(op: store.OperationModel, full: bool = True) -> dict[str, Any]:
    view = {"operation_id": op.operation_id, "detection_id": op.detection_id, "fix_id": op.fix_id,
            "fix_type": op.fix_type, "risk": op.risk, "status": op.status,
            "target": targets.redact(op.target), "auto_approved": bool(op.auto_approved),
            "approved_by": op.approved_by, "created_by": op.created_by,
            "awaiting_execution": bool(op.task_token) and op.status in ("pending_approval", "approved"),
            "created_at": op.created_at.isoformat(), "updated_at": op.updated_at.isoformat(),
            "applied_at": op.applied_at.isoformat() if op.applied_at else None, "error": op.error}
    if full:
        view.update({"fix": op.fix, "plan": op.plan, "snapshot": _snapshot_view(op), "result": op.result,
                     "verification": op.verification, "status_history": op.history,
                     "rollback": {"available": bool(op.snapshot_taken) and op.status in ("applied", "verified",
                                                                                          "failed"),
                                  "snapshot_taken": bool(op.snapshot_taken)}})
    return view


def _snapshot_view(op: store.OperationModel) -> Any:
    snap = op.snapshot
    if not snap:
        return None
    if "s3_key" in snap:
        return {"stored": "s3", "bytes": snap.get("bytes")}
    return snap


# ---------------------------------------------------------------- policy, webhooks
def get_policy(tenant_id: str) -> tuple[HealingPolicy, Any]:
    record = store.get_policy(tenant_id)
    policy = HealingPolicy.from_dict(record.policy) if record and record.policy else HealingPolicy()
    return policy, (record.last_rollback_at if record else None)


def put_policy(tenant_id: str, policy: HealingPolicy) -> HealingPolicy:
    store.put_policy(tenant_id, policy.to_dict())
    return policy


def register_webhook(tenant_id: str, name: str, url: str) -> tuple[store.WebhookTargetModel, str]:
    try:
        checked = targets.check_target_url(url)
    except targets.UnsafeUrlError as exc:
        raise InvalidTarget(f"url: {exc}") from None
    return store.add_webhook(tenant_id, name, checked)


# ---------------------------------------------------------------- state machine tasks
def _op_for_task(event: dict[str, Any]) -> store.OperationModel:
    op = store.get_operation(str(event.get("tenant_id")), str(event.get("operation_id")))
    if op is None:
        raise OperationNotFound(f"operation {event.get('operation_id')!r} of tenant {event.get('tenant_id')!r}")
    return op


def task_plan(event: dict[str, Any]) -> dict[str, Any]:
    """Check the operation can proceed and apply the tenant's policy: auto-approve or wait."""
    op = _op_for_task(event)
    if op.status != "pending_approval":
        raise IllegalTransition(op.status, "approved", f"planning needs a pending operation, not {op.status!r}")
    policy, last_rollback = get_policy(op.tenant_id)
    now = utcnow()
    recent = store.auto_approved_since(op.tenant_id, now - timedelta(hours=1))
    decision = decide(policy, op.risk, recent, last_rollback, now)
    plan = {"target_kind": op.fix["patch"]["target_kind"], "operations": op.fix["patch"]["operations"],
            "fix_type": op.fix_type, "risk": op.risk, "approval": decision.reason,
            "policy": policy.to_dict()}
    store.set_fields(op, plan=plan)
    if decision.auto_approved:
        _transition(op, "approved", "policy", decision.reason, auto_approved=True, approved_by="policy")
    return {"auto_approved": decision.auto_approved, "reason": decision.reason}


def task_await_approval(event: dict[str, Any]) -> dict[str, Any]:
    """Park the state machine's task token on the operation until a person executes or rejects it."""
    op = _op_for_task(event)
    if op.status == "rejected":
        raise Rejected(f"operation {op.operation_id} was rejected")
    store.set_fields(op, task_token=str(event["task_token"]))
    return {"waiting": True}


def _put_snapshot(op: store.OperationModel, snap: dict[str, Any]) -> dict[str, Any]:
    raw = json.dumps(snap, separators=(",", ":"))
    if len(raw) <= store.MAX_SNAPSHOT_INLINE:
        return snap
    from mao.adapters import blobs

    key = f"healing/{op.tenant_id}/{op.operation_id}/snapshot.json"
    blobs.put_bytes(key, raw.encode(), "application/json")
    return {"type": snap.get("type"), "s3_key": key, "bytes": len(raw)}


def _get_snapshot(op: store.OperationModel) -> dict[str, Any]:
    snap = op.snapshot or {}
    if "s3_key" in snap:
        from mao.adapters import blobs

        return json.loads(blobs.get_bytes(snap["s3_key"]))
    return snap


def task_snapshot(event: dict[str, Any]) -> dict[str, Any]:
    op = _op_for_task(event)
    if op.status == "approved":  # auto-approved: nobody pressed execute
        _transition(op, "executing", "policy", "auto-executing")
    elif op.status != "executing":
        raise IllegalTransition(op.status, "executing", f"cannot snapshot an operation in {op.status!r}")
    snap = targets.snapshot(op.tenant_id, _resolve_target(op.tenant_id, op.target))
    store.set_fields(op, snapshot=_put_snapshot(op, snap), snapshot_taken=True)
    return {"snapshot": snap.get("type")}


def task_apply(event: dict[str, Any]) -> dict[str, Any]:
    op = _op_for_task(event)
    if op.status != "executing":
        raise IllegalTransition(op.status, "applied", f"cannot apply an operation in {op.status!r}")
    result = targets.apply(op.tenant_id, _resolve_target(op.tenant_id, op.target), op.plan, _get_snapshot(op),
                           op.operation_id, SYSTEM)
    record = store.add_history(op.tenant_id, detection_id=op.detection_id, fix_id=op.fix_id, fix_type=op.fix_type,
                               risk=op.risk, source="healing", operation_id=op.operation_id,
                               applied_by=op.approved_by or op.created_by, target=targets.redact(op.target),
                               changes=result.get("operations", []))
    _transition(op, "applied", SYSTEM, "fix applied to the target", result=result, applied_at=utcnow(),
                     history_id=record.history_id)
    return {"applied": True}


def _detection_recheck(op: store.OperationModel) -> dict[str, Any]:
    """Detections of the same type analysed since the fix was applied: new data, re-checked by analysis."""
    from mao.adapters import detections

    since = op.applied_at or op.updated_at
    record = detections.get_detection(op.tenant_id, op.detection_id)
    if record is None:
        return {"since": since.isoformat(), "new_detections_of_type": None, "outcome": "detection removed"}
    found = [r for r in detections.list_for_tenant(op.tenant_id, since=since, detection_type=record.detection_type)
             if r.detection_id != op.detection_id]
    return {"since": since.isoformat(), "new_detections_of_type": len(found),
            "outcome": "no new data" if not found else "the failure was detected again"}


def task_verify(event: dict[str, Any]) -> dict[str, Any]:
    op = _op_for_task(event)
    if op.status != "applied":
        raise IllegalTransition(op.status, "verified", f"cannot verify an operation in {op.status!r}")
    try:
        outcome = targets.verify(op.tenant_id, _resolve_target(op.tenant_id, op.target), op.plan, op.operation_id)
    except targets.VerificationFailed as exc:
        store.set_fields(op, verification={"target": "failed", "reason": str(exc), "at": utcnow().isoformat()})
        raise
    outcome["detections"] = _detection_recheck(op)
    outcome["at"] = utcnow().isoformat()
    _transition(op, "verified", SYSTEM, "the change is in effect on the target", verification=outcome)
    return {"verified": True}


def _error_of(event: dict[str, Any]) -> dict[str, Any] | None:
    err = event.get("error")
    if not isinstance(err, dict):
        return None
    cause = err.get("Cause")
    try:
        parsed = json.loads(cause) if isinstance(cause, str) else None
    except ValueError:
        parsed = None
    message = parsed.get("errorMessage") if isinstance(parsed, dict) else cause
    return {"error": err.get("Error"), "message": (str(message) if message else "")[:1000]}


def task_rollback(event: dict[str, Any]) -> dict[str, Any]:
    op = _op_for_task(event)
    error = _error_of(event)
    if error is not None and op.status in ("executing", "applied"):
        _transition(op, "failed", SYSTEM, f"{error['error']}: {error['message']}", error=error)
    check_rollback(op.status, bool(op.snapshot_taken))
    outcome = targets.rollback(op.tenant_id, _resolve_target(op.tenant_id, op.target), _get_snapshot(op),
                               op.operation_id, SYSTEM)
    _transition(op, "rolled_back", SYSTEM, "target restored from the snapshot", result={
        **(op.result or {}), "rollback": outcome})
    store.record_rollback(op.tenant_id)
    if op.history_id:
        store.mark_history_rolled_back(op.tenant_id, op.history_id)
    return {"rolled_back": True}


def task_fail(event: dict[str, Any]) -> dict[str, Any]:
    """Record a failure the state machine could not recover from (planning, snapshot or rollback)."""
    op = store.get_operation(str(event.get("tenant_id")), str(event.get("operation_id")))
    error = _error_of(event) or {"error": "unknown", "message": ""}
    if op is None:
        return {"recorded": False, **error}
    note = f"{error['error']}: {error['message']}"
    if op.status in ("pending_approval", "approved", "executing", "applied", "verified"):
        _transition(op, "failed", SYSTEM, note, error=error, task_token=None)
    else:
        store.set_fields(op, error=error, history=[*op.history, store.status_entry(op.status, SYSTEM, note)])
    return {"recorded": True, **error}
