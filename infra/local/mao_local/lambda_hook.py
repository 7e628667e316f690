"""Let the emulator's Step Functions call our handlers.

moto's Docker-free Lambda backend only echoes its input. We replace its ``invoke`` so a Lambda task
in a state machine runs our handler in-process; an exception becomes a function error
(``x-amz-function-error`` + ``{"errorType", "errorMessage"}``), which Step Functions' Retry and Catch
match on by error name, as on AWS. This is not a public moto hook: moto is pinned (5.2.x) and
``tests/integration/test_local_runtime.py`` exercises it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from mao_local.functions import FunctionRegistry

log = logging.getLogger("mao_local.lambda")
_registry: FunctionRegistry | None = None
_installed = False


def install(registry: FunctionRegistry) -> None:
    global _registry, _installed
    _registry = registry
    if _installed:
        return
    from moto.awslambda_simple.models import LambdaSimpleBackend

    def invoke(self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any,
               response_headers: Any) -> bytes:
        reg = _registry
        logical = reg.logical_for(function_name) if reg else None
        if reg is None or logical is None:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": "ResourceNotFound",
                               "errorMessage": f"no local handler for {function_name}"}).encode()
        raw = body.decode() if isinstance(body, bytes) else (body or "null")
        try:
            event = json.loads(raw) if raw else None
            result = reg.invoke(logical, event)
            return json.dumps(result, default=str).encode()
        except Exception as exc:  # a function error, reported the way Lambda reports it
            log.info("function %s failed: %s: %s", logical, type(exc).__name__, exc)
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc),
                               "trace": []}).encode()

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
    _installed = True
