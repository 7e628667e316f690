"""Deterministic fix ids: the same fix for the same detection has the same id on every call."""

from __future__ import annotations

import hashlib


def fix_id(detection_id: str, fix_type: str, variant: str) -> str:
    """``fix_`` + 20 hex digits of SHA-256 over detection, fix type and variant (the framework flavour)."""
    digest = hashlib.sha256(f"{detection_id}\x1f{fix_type}\x1f{variant}".encode()).hexdigest()
    return "fix_" + digest[:20]
