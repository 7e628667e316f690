"""Server-Sent Events framing (``text/event-stream``)."""

from __future__ import annotations

import json
from typing import Any

MEDIA_TYPE = "text/event-stream"


def _field(name: str, value: str) -> str:
    # A field value may not contain newlines: each line becomes its own field line.
    return "".join(f"{name}: {line}\n" for line in value.split("\n"))


def event(event_id: str, kind: str, data: Any) -> str:
    body = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), default=str)
    return _field("id", event_id) + _field("event", kind) + _field("data", body) + "\n"


def retry(milliseconds: int) -> str:
    return f"retry: {int(milliseconds)}\n\n"


def comment(text: str) -> str:
    return "".join(f": {line}\n" for line in text.split("\n")) + "\n"


def parse(stream: str) -> list[dict[str, str]]:
    """Events of a stream as dicts of their fields (data lines joined); comments and retry skipped."""
    out: list[dict[str, str]] = []
    for block in stream.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            fields[name] = f"{fields[name]}\n{value}" if name in fields and name == "data" else value
        if "data" in fields or "event" in fields:
            out.append(fields)
    return out
