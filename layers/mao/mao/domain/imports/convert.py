"""One parsed import record -> what gets stored: spans (trace formats) or a conversation.

Trace formats (OTLP/JSON, Langfuse, LangSmith) become spans for the shared span write path;
conversation formats become a ``(conversation format, data)`` pair for the conversation store,
which parses and validates them (Who&When records are read by the ``generic`` conversation format,
which keeps their question, ground truth and mistake labels).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mao.domain.models import Span

TRACE_FORMATS = ("otlp", "langfuse", "langsmith")
CONVERSATION_FORMATS = {"who-when": "generic", "mast-data": "mast-data", "openai": "openai", "claude": "claude",
                        "generic": "generic"}
FORMAT_ALIASES = {"otlp-json": "otlp", "otel": "otlp", "who&when": "who-when", "whowhen": "who-when",
                  "who_when": "who-when", "mast": "mast-data", "anthropic": "claude"}


class RecordError(ValueError):
    """The record cannot be imported (the message is the reason reported for its line)."""


@dataclass(slots=True)
class Converted:
    spans: list[Span] = field(default_factory=list)
    conversation_format: str | None = None
    conversation: Any = None
    warnings: list[str] = field(default_factory=list)

    @property
    def is_conversation(self) -> bool:
        return self.conversation_format is not None


def normalise_format(name: str | None) -> str | None:
    """The canonical format name for a client-given one (None/"auto" = detect)."""
    if name is None:
        return None
    key = name.strip().lower()
    if key in ("", "auto"):
        return None
    key = FORMAT_ALIASES.get(key, key)
    if key not in TRACE_FORMATS and key not in CONVERSATION_FORMATS:
        raise ValueError(f"unknown format {name!r}; supported: auto, "
                         f"{', '.join((*TRACE_FORMATS, *CONVERSATION_FORMATS))}")
    return key


def _otlp(record: Any) -> Converted:
    from mao.domain.formats.otlp import OtlpFormatError, decode_otlp

    if not isinstance(record, Mapping):
        raise RecordError("an OTLP/JSON record must be an object with resourceSpans")
    try:
        result = decode_otlp(json.dumps(record).encode(), "application/json")
    except OtlpFormatError as exc:
        raise RecordError(str(exc)) from None
    if not result.spans:
        raise RecordError(result.error_message or "the export holds no spans")
    warnings = [f"{result.rejected} span(s) rejected: {result.error_message}"] if result.rejected else []
    return Converted(spans=result.spans, warnings=warnings)


def convert(fmt: str, record: Any) -> Converted:
    """Convert one record of format ``fmt``; raises :class:`RecordError` with the reason."""
    if fmt == "otlp":
        return _otlp(record)
    if fmt in ("langfuse", "langsmith"):
        from mao.domain.imports import langfuse, langsmith

        module = langfuse if fmt == "langfuse" else langsmith
        try:
            spans = module.record_spans(record)
        except (ValueError, TypeError, KeyError) as exc:
            raise RecordError(str(exc)) from None
        if not spans:
            raise RecordError("the record holds no runs")
        return Converted(spans=spans)
    target = CONVERSATION_FORMATS.get(fmt)
    if target is None:
        raise RecordError(f"unknown format {fmt!r}")
    if record is None:
        raise RecordError("an empty record")
    return Converted(conversation_format=target, conversation=record)
