"""Reading the endpoint list out of the API reference (used by the conformance test and tooling)."""

from __future__ import annotations

import re
from pathlib import Path

BASE = "/api/v1"
_ENDPOINT = re.compile(r"\b(GET|POST|PUT|DELETE|PATCH)\s+(/[^\s,]*)")


def endpoints(reference: Path) -> list[tuple[str, str]]:
    """Every (method, full path) the reference lists, with section prefixes applied.

    A section's ``Prefix: /tenants/{tenant_id}/traces`` is followed by endpoint lines that repeat
    the prefix's last segment (``POST /traces/ingest``); paths that do not start with that segment
    stand on their own (``GET /tenants/{tenant_id}/agents``, ``GET /metrics``).
    """
    prefix = ""
    found: list[tuple[str, str]] = []
    for raw in reference.read_text().splitlines():
        line = raw.strip()
        if line.startswith("Prefix:"):
            prefix = line.split(":", 1)[1].strip().rstrip("/")
            continue
        if line.startswith(("-", "Base URL", "All authenticated")):
            continue
        for method, path in _ENDPOINT.findall(line):
            path = path.rstrip(".")
            first = path.strip("/").split("/")[0]
            repeats_prefix = bool(prefix) and prefix.rsplit("/", 1)[-1] == first
            full = prefix.rsplit("/", 1)[0] + path if repeats_prefix else path
            found.append((method, BASE + full))
            if full == "/health":
                found.append((method, "/health"))
    seen: dict[tuple[str, str], None] = {}
    for item in found:
        seen.setdefault(item, None)
    return list(seen)
