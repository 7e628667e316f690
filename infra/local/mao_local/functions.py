"""Our Lambda handlers, loaded in-process from the template's CodeUri/Handler and called like Lambda."""

from __future__ import annotations

import asyncio
import importlib.util
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mao_local.template import Template


@dataclass(slots=True)
class LambdaContext:
    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 512
    timeout_s: float = 29.0
    invoked_function_arn: str = ""
    log_group_name: str = ""
    log_stream_name: str = "local"
    function_version: str = "$LATEST"
    _deadline: float = 0.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionRegistry:
    """Logical id -> handler. Modules load on first use, once, each under a unique module name."""

    def __init__(self, template: Template, arns: dict[str, str] | None = None) -> None:
        self.template = template
        self.arns = arns or {}
        self._handlers: dict[str, Any] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return list(self.template.functions())

    def logical_for(self, name_or_arn: str) -> str | None:
        tail = name_or_arn.split(":function:")[-1].split(":")[0]
        for logical in self.template.functions():
            if tail in (logical, f"mao-local-{logical}") or self.arns.get(logical) == name_or_arn:
                return logical
        return None

    def handler(self, logical: str) -> Any:
        with self._lock:
            if logical not in self._handlers:
                self._handlers[logical] = self._load(logical)
            return self._handlers[logical]

    def _load(self, logical: str) -> Any:
        code_uri = self.template.function_property(logical, "CodeUri")
        handler_ref = self.template.function_property(logical, "Handler")
        module_name, func_name = handler_ref.rsplit(".", 1)
        path = Path(self.template.root, code_uri, *module_name.split(".")).with_suffix(".py")
        unique = f"mao_fn_{logical}"
        spec = importlib.util.spec_from_file_location(unique, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path} for {logical}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module
        spec.loader.exec_module(module)
        return getattr(module, func_name)

    def invoke(self, logical: str, event: Any) -> Any:
        """Call the handler as Lambda would; each calling thread gets its own event loop."""
        try:
            asyncio.get_event_loop()
        except RuntimeError:
            asyncio.set_event_loop(asyncio.new_event_loop())
        timeout = float(self.template.function_property(logical, "Timeout") or 3)
        context = LambdaContext(function_name=f"mao-local-{logical}", aws_request_id=secrets.token_hex(16),
                                timeout_s=timeout, invoked_function_arn=self.arns.get(logical, ""),
                                _deadline=time.monotonic() + timeout)
        return self.handler(logical)(event, context)
