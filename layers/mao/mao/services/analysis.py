"""Analysis of traces and conversations: run every detector with the tenant's thresholds, store the
detections (replacing the source's earlier ones), and attribute the failure when the run failed.

The one entry point the HTTP functions and the ingest worker call:
:func:`analyze_trace`, :func:`analyze_conversation` and :func:`analyze_run_and_store`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mao.adapters import detections as store
from mao.adapters.dynamo import utcnow
from mao.domain.models import Detection, Evidence, Run
from mao.domain.thresholds import TenantThresholds

log = logging.getLogger(__name__)


class SourceNotFound(LookupError):
    """The tenant has no trace or conversation with that id."""

    def __init__(self, kind: str, source_id: str) -> None:
        super().__init__(f"{kind} {source_id!r} not found")
        self.kind = kind
        self.source_id = source_id


@dataclass(slots=True)
class AnalysisResult:
    tenant_id: str
    source_kind: str
    source_id: str
    analyzed_at: datetime
    detections: list[store.DetectionModel]
    failed: bool
    failure_reasons: list[str]
    attribution: dict[str, Any] | None
    errors: dict[str, str] = field(default_factory=dict)
    created: int = 0
    updated: int = 0
    deleted: int = 0
    steps: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_kind": self.source_kind,
            "source_id": self.source_id,
            f"{self.source_kind}_id": self.source_id,
            "analyzed_at": self.analyzed_at.isoformat(),
            "steps_analyzed": self.steps,
            "detection_count": len(self.detections),
            "detections": [detection_view(r) for r in self.detections],
            "failed": self.failed,
            "failure_reasons": self.failure_reasons,
            "attribution": self.attribution,
            "detector_errors": self.errors,
            "changes": {"created": self.created, "updated": self.updated, "deleted": self.deleted},
        }


def detection_view(record: store.DetectionModel) -> dict[str, Any]:
    """The API shape of a stored detection."""
    return {
        "id": record.detection_id,
        "detection_id": record.detection_id,
        "tenant_id": record.tenant_id,
        "source_kind": record.source_kind,
        "source_id": record.source_id,
        "trace_id": record.source_id if record.source_kind == "trace" else None,
        "conversation_id": record.source_id if record.source_kind == "conversation" else None,
        "detection_type": record.detection_type,
        "f_code": record.f_code,
        "confidence": float(record.confidence),
        "severity": record.severity,
        "explanation": record.explanation,
        "evidence": record.evidence or [],
        "details": record.details or {},
        "detector_version": record.detector_version,
        "created_at": record.created_at.isoformat(),
        "analyzed_at": record.analyzed_at.isoformat(),
        "validated": record.validated,
        "validation_feedback": record.validation_feedback,
        "validated_at": record.validated_at.isoformat() if record.validated_at else None,
    }


# --- thresholds ----------------------------------------------------------------------------------


def tenant_thresholds(tenant_id: str) -> TenantThresholds:
    """The tenant's stored threshold overrides, or the defaults when settings storage is unavailable."""
    try:
        from mao.services.settings import tenant_thresholds as stored
    except ImportError:  # settings storage not deployed with this function
        return TenantThresholds()
    return stored(tenant_id)


def thresholds_digest(thresholds: TenantThresholds) -> str:
    raw = json.dumps({"global": thresholds.global_overrides, "framework": thresholds.framework_overrides},
                     sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


# --- did the run fail? ---------------------------------------------------------------------------

_FINAL_ANSWER = re.compile(r"FINAL ANSWER\s*:\s*(?P<answer>[^\n]+)", re.IGNORECASE)
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # thousands separators
    text = re.sub(r"[^\w.%-]+", " ", text)
    return " ".join(t.strip(".") for t in text.split() if t.strip("."))


def stated_final_answer(run: Run) -> str | None:
    """The run's final answer: the last explicit ``FINAL ANSWER:`` line, else its final output."""
    for step in reversed(run.steps):
        match = _FINAL_ANSWER.search(step.content or "")
        if match:
            return match.group("answer").strip()
    return run.final_output


def answer_misses(final: str | None, truth: str) -> bool:
    """True when the final answer does not contain the ground truth (numbers compared as numbers)."""
    want = _normalise(truth)
    if not want:
        return False
    if not final:
        return True
    got = _normalise(final)
    if _NUMBER.match(want):
        numbers = re.findall(r"-?\d+(?:\.\d+)?", got)
        return not any(float(n) == float(want) for n in numbers)
    return f" {want} " not in f" {got} "


def failure_reasons(run: Run, detections: list[Detection]) -> list[str]:
    reasons: list[str] = []
    if detections:
        reasons.append("failure_detected")
    if run.status == "error":
        reasons.append("error_status")
    if run.ground_truth and answer_misses(stated_final_answer(run), run.ground_truth):
        reasons.append("ground_truth_missed")
    return reasons


def _attribution(run: Run, detections: list[Detection], reasons: list[str]) -> dict[str, Any] | None:
    if not reasons or not run.steps:
        return None
    from dataclasses import replace

    from mao.domain.attribution import attribute

    # A run that failed for a reason the run itself does not show (a missed ground truth) is
    # attributed as a failed run.
    target = run if run.status == "error" or detections else replace(run, status="error")
    try:
        result = attribute(target, detections)
    except Exception:  # attribution is an extra: never lose the detections over it
        log.exception("attribution failed on %s", run.run_id)
        return None
    return result.to_dict() if result is not None else None


# --- entry points --------------------------------------------------------------------------------


def analyze_run_and_store(tenant_id: str, run: Run, *, source_kind: str, source_id: str,
                          thresholds: TenantThresholds | None = None) -> AnalysisResult:
    """Analyse ``run``, replace the source's stored detections with the result, record the analysis."""
    from mao.domain.analysis import analyze_run, detection_id

    if source_kind not in store.SOURCE_KINDS:
        raise ValueError(f"unknown source kind {source_kind!r}")
    settings = thresholds if thresholds is not None else tenant_thresholds(tenant_id)
    analysis = analyze_run(run, settings)
    found = [(det.details.get("detection_id") or detection_id(run.run_id, det), det)
             for det in analysis.detections]
    now = utcnow()
    replaced = store.replace_for_source(tenant_id, source_kind, source_id, found, now)
    reasons = failure_reasons(run, analysis.detections)
    attribution = _attribution(run, analysis.detections, reasons)
    store.put_analysis(store.AnalysisModel(
        tenant_id, store.analysis_source(source_kind, source_id), analyzed_at=now,
        detection_ids=[det_id for det_id, _ in found], failed=bool(reasons), failure_reasons=reasons,
        attribution=attribution, errors=dict(analysis.errors), thresholds_digest=thresholds_digest(settings)))
    return AnalysisResult(tenant_id, source_kind, source_id, now, replaced.records, bool(reasons), reasons,
                          attribution, dict(analysis.errors), replaced.created, replaced.updated,
                          replaced.deleted, len(run.steps))


def analyze_conversation(tenant_id: str, conversation_id: str) -> AnalysisResult:
    from mao.services import conversations

    run = conversations.load_run(tenant_id, conversation_id)
    if run is None:
        raise SourceNotFound("conversation", conversation_id)
    return analyze_run_and_store(tenant_id, run, source_kind="conversation", source_id=conversation_id)


def analyze_trace(tenant_id: str, trace_id: str) -> AnalysisResult:
    from mao.adapters import traces
    from mao.domain.traces import to_run

    if traces.get_trace(tenant_id, trace_id) is None:
        raise SourceNotFound("trace", trace_id)
    spans = list(traces.get_spans(tenant_id, trace_id))
    if not spans:
        raise SourceNotFound("trace", trace_id)
    return analyze_run_and_store(tenant_id, to_run(trace_id, spans), source_kind="trace", source_id=trace_id)


def last_analysis(tenant_id: str, kind: str, source_id: str) -> dict[str, Any] | None:
    """A summary of the source's last analysis (for the source's detail view), or None."""
    record = store.get_analysis(tenant_id, kind, source_id)
    if record is None:
        return None
    return {"analyzed_at": record.analyzed_at.isoformat(), "detection_count": len(record.detection_ids),
            "detection_ids": list(record.detection_ids), "failed": record.failed,
            "failure_reasons": list(record.failure_reasons), "attribution": record.attribution,
            "detector_errors": record.errors or {}}


def evidence_of(record: store.DetectionModel) -> list[Evidence]:
    """A stored detection's evidence as domain objects (for healing and feedback)."""
    return [Evidence(ref=str(e.get("ref")), quote=str(e.get("quote") or ""), step_index=e.get("step_index"),
                     note=e.get("note")) for e in (record.evidence or [])]
