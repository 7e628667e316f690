"""Property-based fuzzing of every HTTP function's OpenAPI document, in-process (schemathesis).

Each function's FastAPI app is loaded the way the local runtime loads it and driven through ASGI,
with a real tenant's key and that tenant's id in every ``{tenant_id}``. Checks: no 5xx, every
status code declared, responses match their declared schema and content type.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

CHECK_NAMES = ("not_a_server_error", "status_code_conformance", "response_schema_conformance",
               "content_type_conformance")
# Routes that hold a connection open (Server-Sent Events long-poll) are not fuzzed.
SKIP_PATH_SUFFIXES = ("/stream",)


@dataclass
class FuzzReport:
    requests: int = 0
    operations: int = 0
    failures: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)


def http_functions(stack: Any) -> list[str]:
    return sorted({route.function for route in stack.template.routes()})


def app_of(stack: Any, logical: str) -> Any:
    stack.registry.handler(logical)
    return sys.modules[f"mao_fn_{logical}"].app


@contextmanager
def unlimited_rate() -> Iterator[None]:
    """In-process calls all come from one client address: lift the per-IP limits while fuzzing."""
    from mao.config import reset_settings

    saved = {k: os.environ.get(k) for k in ("MAO_RATE_LIMIT_GLOBAL", "MAO_RATE_LIMIT_AUTH")}
    os.environ.update({"MAO_RATE_LIMIT_GLOBAL": "100000000", "MAO_RATE_LIMIT_AUTH": "100000000"})
    reset_settings()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_settings()


def fuzz_app(app: Any, tenant_id: str, headers: dict[str, str], examples: int, report: FuzzReport) -> None:
    import schemathesis

    schema = schemathesis.openapi.from_asgi(app.openapi_url, app)
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.endswith(SKIP_PATH_SUFFIXES):
            continue
        report.operations += 1
        seen = fuzz_operation(operation, tenant_id, headers, examples, report)
        report.failures += [f"{operation.method.upper()} {operation.path}: {s}" for s in seen]


def fuzz_operation(operation: Any, tenant_id: str, headers: dict[str, str], examples: int,
                   report: FuzzReport) -> list[str]:
    """Up to three distinct check failures of one operation."""
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis import checks as st_checks
    from schemathesis.core.failures import FailureGroup

    checks = [getattr(st_checks, name) for name in CHECK_NAMES]
    seen: list[str] = []

    @given(case=operation.as_strategy())
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        if "tenant_id" in (case.path_parameters or {}):
            case.path_parameters["tenant_id"] = tenant_id
        response = case.call(headers=headers)
        report.requests += 1
        report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                text = " ".join(str(failure).split())[:300]
                if len(seen) < 3 and text not in seen:
                    seen.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {text}")

    run()
    return seen
