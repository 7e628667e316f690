"""One local stack per test session (the emulator is process-global), reached over real HTTP."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mao_local.stack import LocalStack, StackConfig

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
_ips = itertools.count(1)


_shared: dict[str, Any] = {"stack": None, "users": 0}


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    """Other test folders import this fixture too; they all share one stack per process."""
    if _shared["stack"] is None:
        os.environ.pop("MAO_OPERATOR_KEY", None)
        config = StackConfig(api_port=0, trust_forwarded_for=True, sqs_retry_delay=1,
                             overlays=[FIXTURES / "runtime" / "overlay.yaml"])
        _shared["stack"] = LocalStack(config).start()
    _shared["users"] += 1
    try:
        yield _shared["stack"]
    finally:
        _shared["users"] -= 1
        if _shared["users"] == 0:
            _shared["stack"].stop()
            _shared["stack"] = None


@dataclass
class Tenant:
    tenant_id: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-MAO-API-Key": self.api_key}


def fresh_ip() -> str:
    """A distinct client address per test (the gateway trusts X-Forwarded-For in tests), so the
    per-IP rate limits of one test do not leak into another."""
    n = next(_ips)
    return f"198.18.{n // 250}.{n % 250 + 1}"


@pytest.fixture
def client(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.api_url, headers={"X-Forwarded-For": fresh_ip()}, timeout=30) as c:
        yield c


@pytest.fixture
def operator_headers(stack: LocalStack) -> dict[str, str]:
    return {"X-MAO-API-Key": stack.operator_key}


def make_tenant(stack: LocalStack, name: str = "test") -> Tenant:
    with httpx.Client(base_url=stack.api_url, headers={"X-Forwarded-For": fresh_ip()}, timeout=30) as c:
        resp = c.post("/api/v1/auth/tenants", json={"name": name}, headers={"X-MAO-API-Key": stack.operator_key})
        assert resp.status_code == 201, resp.text
        body = resp.json()
        return Tenant(body["tenant_id"], body["api_key"])


@pytest.fixture
def tenant(stack: LocalStack) -> Tenant:
    return make_tenant(stack, "tenant-a")


@pytest.fixture
def other_tenant(stack: LocalStack) -> Tenant:
    return make_tenant(stack, "tenant-b")
