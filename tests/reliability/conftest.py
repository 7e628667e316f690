"""The reliability suites run on the same local stack as the e2e suite (one per process)."""

from __future__ import annotations

from tests.e2e.conftest import (  # noqa: F401  (fixtures re-exported for this folder)
    client,
    operator_headers,
    other_tenant,
    stack,
    tenant,
)
