"""The endpoints the API reference documents as public (no credentials)."""

from __future__ import annotations

import re
import tempfile
from functools import cache
from pathlib import Path

from mao.api.reference import endpoints
from tests.conftest import REPO_ROOT

REFERENCE = Path(REPO_ROOT) / "docs" / "api-reference.md"
_PUBLIC = re.compile(r"\bpublic\b|Auth:\s*None", re.IGNORECASE)
_ENDPOINT = re.compile(r"\b(GET|POST|PUT|DELETE|PATCH)\s+/")


def _endpoints_of(lines: list[str]) -> list[tuple[str, str]]:
    with tempfile.NamedTemporaryFile("w", suffix=".md") as fh:
        fh.write("\n".join(lines))
        fh.flush()
        return endpoints(Path(fh.name))


@cache
def public_endpoints() -> frozenset[tuple[str, str]]:
    """(method, path) of every endpoint whose description says it is public or needs no auth."""
    lines = REFERENCE.read_text().splitlines()
    found: set[tuple[str, str]] = set()
    for i, line in enumerate(lines):
        if not _PUBLIC.search(line):
            continue
        j = i
        while j >= 0 and not _ENDPOINT.search(lines[j]):
            j -= 1
        if j < 0:
            continue
        before = set(_endpoints_of(lines[:j]))
        found |= set(_endpoints_of(lines[: j + 1])) - before
    return frozenset(found)
