"""Which container and record format an import file has, decided from its structure.

The container comes from the first bytes: ``[`` opens an array (unless its elements are chat
messages, which makes the whole array one conversation); several complete JSON values on separate
lines make JSONL; otherwise the file is one JSON document. The record format is a vote over a
sample of records (not just the first), each classified by the keys it has:

==============  =========================================================================
``otlp``        an OTLP/JSON export (``resourceSpans``)
``langfuse``    a Langfuse trace (``observations``) or observation (``traceId`` + ``type``)
``langsmith``   a LangSmith run (``run_type`` with ``start_time``)
``who-when``    a Who&When record (``history`` with ``question`` or mistake labels)
``mast-data``   a MAST record (``trace`` with a raw ``trajectory``)
``claude``      Anthropic Messages (content blocks, a top-level ``system``)
``openai``      chat messages (``messages`` with ``role``/``content``)
``generic``     speaker/content items (``turns``, ``conversation``, ``history``)
==============  =========================================================================
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mao.domain.imports.reader import FileStructureError, iter_array, iter_jsonl, parse_json

FORMATS: tuple[str, ...] = ("otlp", "langfuse", "langsmith", "who-when", "mast-data", "claude", "openai",
                            "generic")
SAMPLE_RECORDS = 25
_CLAUDE_BLOCKS = frozenset({"tool_use", "tool_result", "thinking", "redacted_thinking", "server_tool_use"})
_LANGFUSE_TYPES = frozenset({"SPAN", "GENERATION", "EVENT", "AGENT", "TOOL", "CHAIN", "RETRIEVER",
                             "EVALUATOR", "EMBEDDING", "GUARDRAIL"})
_SPEAKER_KEYS = ("agent", "name", "speaker", "sender", "role")


class UndetectableFormat(ValueError):
    """The sample has no record of a known format."""


@dataclass(frozen=True, slots=True)
class Detection:
    container: str
    format: str
    sampled: int
    votes: dict[str, int]


def _is_message(item: Any) -> bool:
    return isinstance(item, Mapping) and any(isinstance(item.get(k), str) for k in _SPEAKER_KEYS) \
        and any(k in item for k in ("content", "text", "message"))


def _claude_like(data: Mapping[str, Any], messages: list[Any]) -> bool:
    if isinstance(data.get("system"), (str, list)) or "anthropic_version" in data or "stop_reason" in data:
        return True
    model = data.get("model")
    if isinstance(model, str) and model.lower().startswith("claude"):
        return True
    for msg in messages:
        content = msg.get("content") if isinstance(msg, Mapping) else None
        if isinstance(content, list) and any(isinstance(b, Mapping) and b.get("type") in _CLAUDE_BLOCKS
                                             for b in content):
            return True
    return False


def classify(record: Any) -> str | None:
    """The format of one record by its keys, or None when it has none of the known shapes."""
    if isinstance(record, list):
        if record and all(_is_message(m) for m in record[:20]):
            return "openai" if all(isinstance(m.get("role"), str) for m in record[:20]) else "generic"
        return None
    if not isinstance(record, Mapping):
        return None
    if "resourceSpans" in record or "resource_spans" in record:
        return "otlp"
    if "run_type" in record and ("start_time" in record or "inputs" in record):
        return "langsmith"
    if isinstance(record.get("observations"), list) and ("timestamp" in record or "id" in record):
        return "langfuse"
    if "traceId" in record and str(record.get("type", "")).upper() in _LANGFUSE_TYPES:
        return "langfuse"
    if isinstance(record.get("history"), list) and ("question" in record or "mistake_agent" in record):
        return "who-when"
    trace = record.get("trace")
    if (isinstance(trace, Mapping) and "trajectory" in trace) or ("mast_annotation" in record and "trace" in record):
        return "mast-data"
    messages = record.get("messages")
    if isinstance(messages, list):
        if _claude_like(record, messages):
            return "claude"
        if all(isinstance(m, Mapping) and isinstance(m.get("role"), str) for m in messages):
            return "openai"
        return "generic"
    if any(isinstance(record.get(k), list) for k in ("turns", "conversation", "history")):
        return "generic"
    return None


def vote(records: list[Any]) -> tuple[str | None, dict[str, int]]:
    counts = Counter(f for f in (classify(r) for r in records) if f is not None)
    if not counts:
        return None, {}
    best = max(counts.items(), key=lambda kv: (kv[1], -FORMATS.index(kv[0])))[0]
    return best, dict(counts)


def _first_char(head: bytes) -> bytes:
    stripped = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    return stripped[:1]


def _sample_jsonl(head: bytes, complete: bool) -> list[Any]:
    """Parsed complete lines of ``head`` (the last one only if the head is the whole file)."""
    body = head if complete else head[:head.rfind(b"\n") + 1]
    out: list[Any] = []
    for rec in iter_jsonl([body]):
        if rec.error is None:
            out.append(rec.data)
        if len(out) + (rec.error is not None) >= SAMPLE_RECORDS * 2:
            break
    return out


def _first_line_parses(head: bytes, complete: bool) -> bool:
    """Whether the first non-blank line is a complete JSON value on its own: pretty-printed JSON's
    first line (``{``) never is, a JSONL file's always is (later bad lines are per-record errors)."""
    body = head if complete else head[:head.rfind(b"\n") + 1]
    for rec in iter_jsonl([body]):
        return rec.error is None
    return False


def _sample_array(head: bytes) -> list[Any]:
    """Elements parsed from the head (a head that ends mid-array yields those before the cut)."""
    out: list[Any] = []
    try:
        for rec in iter_array([head]):
            if rec.error is None:
                out.append(rec.data)
            if len(out) >= SAMPLE_RECORDS:
                break
    except FileStructureError:
        pass
    return out


def detect(head: bytes, complete: bool, format_hint: str | None = None) -> Detection:
    """Container and format of a file from its first bytes (``complete``: ``head`` is the whole
    file). ``format_hint`` (a format the client named) skips the vote but not the container check."""
    first = _first_char(head)
    if not first:
        raise UndetectableFormat("the file is empty")
    if first == b"[":
        sample = _sample_array(head)
        if sample and all(_is_message(m) for m in sample) and not any(classify(m) for m in sample):
            fmt = format_hint or classify(sample)
            return Detection("document", fmt or "generic", 1, {fmt or "generic": 1})
        container = "array"
    elif first == b"{" and _first_line_parses(head, complete):
        container, sample = "jsonl", _sample_jsonl(head, complete)
    elif first == b"{":
        container = "document"
        try:
            sample = [parse_json(head)] if complete else []
        except ValueError:
            sample = []
    else:
        raise UndetectableFormat(f"the file does not start with JSON ('{first.decode(errors='replace')}')")
    if format_hint:
        return Detection(container, format_hint, len(sample), {})
    fmt, votes = vote(sample)
    if fmt is None:
        if container == "document" and not complete:
            raise UndetectableFormat("a single JSON document too large to sample; name its format")
        raise UndetectableFormat("no record of a known format in the first "
                                 f"{len(sample)} records; name the format")
    return Detection(container, fmt, len(sample), votes)
