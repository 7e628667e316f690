"""Shared pieces of the platform normalisers: the result type, deterministic ids, time and text.

Every platform payload becomes a :class:`NormalisedRun`: the spans of one trace (the same model as
OTLP ingest) plus the identity of the execution. Ids are derived, never random: the trace id from the
platform, the registered entity and the platform's execution/run id (so a re-delivery lands on the
same trace), span ids from the trace id and the node/step identity.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mao.domain.models import Span, Status

MAX_TEXT = 8000  # characters of a node's input/output kept on its span


class PayloadError(ValueError):
    """The payload is not what the platform sends: the message names the problem."""


@dataclass(slots=True)
class NormalisedRun:
    provider: str
    entity_id: str  # the registered workflow / app / assistant / agent whose secret signs the payload
    external_id: str  # the platform's execution / run / session id
    trace_id: str
    name: str
    status: Status
    spans: list[Span]
    metadata: dict[str, Any] = field(default_factory=dict)

    def content_hash(self) -> str:
        """Changes when anything stored about the run changes (a re-delivery of the same content
        hashes the same, a session that grew does not)."""
        h = hashlib.sha256()
        for s in sorted(self.spans, key=lambda s: s.span_id):
            h.update(json.dumps([s.span_id, s.name, s.start_ns, s.end_ns, s.status, s.output_text, s.input_text,
                                 s.state], sort_keys=True, default=str).encode())
        return h.hexdigest()


def trace_id_for(provider: str, entity_id: str, external_id: str) -> str:
    raw = "\x1f".join(("mao-integration", provider, entity_id, external_id))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def span_id_for(trace_id: str, *identity: object) -> str:
    raw = "\x1f".join([trace_id, *(str(p) for p in identity)])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def require_str(payload: dict[str, Any], *keys: str) -> str:
    """The first present, non-empty value of ``keys`` as a string (ids may arrive as numbers)."""
    for key in keys:
        value = payload.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    raise PayloadError(f"missing {keys[0]!r}")


def require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise PayloadError("the payload must be a JSON object")
    return body


def to_ns(value: Any) -> int | None:
    """Unix seconds / milliseconds / nanoseconds or an ISO-8601 string -> unix nanoseconds."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        v = float(value)
        if v <= 0:
            return None
        if v < 1e11:  # seconds
            return int(v * 1e9)
        if v < 1e14:  # milliseconds
            return int(v * 1e6)
        if v < 1e17:  # microseconds
            return int(v * 1e3)
        return int(v)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            return to_ns(float(text))
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return int(parsed.timestamp() * 1_000_000) * 1000
    return None


def duration_ns(value: Any, unit: float) -> int | None:
    """A duration in ``unit`` seconds (1e-3 for milliseconds) -> nanoseconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    return int(value * unit * 1e9)


def as_text(value: Any, limit: int = MAX_TEXT) -> str | None:
    """Readable text for a span: strings as they are, structures as compact JSON, capped."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str, sort_keys=True)
        except (TypeError, ValueError):
            text = str(value)
    if not text or text in ("{}", "[]", "null"):
        return None
    return text if len(text) <= limit else text[:limit] + "…"


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


_OK = frozenset({"success", "succeeded", "ok", "completed", "complete", "finished", "done"})
_ERROR = frozenset({"error", "failed", "failure", "crashed", "timeout", "timed_out", "stopped",
                    "canceled", "cancelled", "interrupted", "partial-succeeded", "exception"})


def status_of(value: Any, error: Any = None) -> Status:
    if error:
        return "error"
    text = str(value or "").strip().lower()
    if text in _OK:
        return "ok"
    if text in _ERROR:
        return "error"
    return "unset"


def error_text(error: Any) -> str | None:
    if not error:
        return None
    if isinstance(error, dict):
        for key in ("message", "description", "error", "detail"):
            if isinstance(error.get(key), str) and error[key].strip():
                return error[key].strip()
        return as_text(error, 2000)
    return as_text(error, 2000)
