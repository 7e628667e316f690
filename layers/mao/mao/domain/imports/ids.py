"""Deterministic hex ids for records whose ids are not OTLP ids (UUIDs, arbitrary strings)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

_HEX = re.compile(r"^[0-9a-f]+$")


def hex_id(value: Any, chars: int) -> str:
    """``chars`` hex digits for ``value``: a UUID or hex id of the right length is kept as it is,
    anything else is hashed (so the same source id always maps to the same span or trace id)."""
    text = str(value).strip().lower()
    compact = text.replace("-", "")
    if len(compact) == chars and _HEX.match(compact) and compact.strip("0"):
        return compact
    return hashlib.sha256(str(value).encode()).hexdigest()[:chars]


def timestamp_ns(value: Any) -> int | None:
    """Nanoseconds since the epoch from ISO-8601 text or epoch seconds/milliseconds/nanoseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
        if number > 1e17:
            return int(number)
        if number > 1e14:
            return int(number * 1e3)
        if number > 1e11:
            return int(number * 1e6)
        return int(number * 1e9)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    fraction_ns = 0
    match = re.match(r"^(.*T\d{2}:\d{2}:\d{2})\.(\d+)(.*)$", text)
    if match:  # keep sub-microsecond digits that datetime would drop
        digits = match.group(2)
        fraction_ns = int((digits + "000000000")[:9])
        text = match.group(1) + match.group(3)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp()) * 1_000_000_000 + fraction_ns
