"""Where a fix is applied: an n8n workflow (n8n's public REST API), a tenant's HTTPS webhook (receives
the signed plan and answers applied/failed) or MAO's own per-agent configuration store.

Each driver can snapshot the target, apply a plan, verify it took and roll back to the snapshot.
Errors are classified for the state machine by class name: ``TransientTargetError`` is retried,
``TargetApplyFailed`` and ``VerificationFailed`` go to the rollback branch. User-supplied URLs are
checked against SSRF on every request (private, loopback and link-local ranges are refused unless
the operator allows a network in ``MAO_HEALING_ALLOWED_NETWORKS``); redirects are never followed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

from mao.domain.fixes.patches import PatchError, apply_config_ops, apply_n8n_ops, unmet_config_ops, unmet_n8n_ops
from mao.domain.integrations.ssrf import UnsafeUrlError, check_url, parse_networks

TARGET_TYPES = ("n8n", "webhook", "agent_config")
TIMEOUT_S = 10.0
MAX_RESPONSE_BYTES = 5 * 1024 * 1024


class TransientTargetError(Exception):
    """The target could not be reached or answered 5xx/429: worth retrying."""


class TargetApplyFailed(Exception):
    """The target refused or failed the change (or cannot be used): not worth retrying."""


class VerificationFailed(Exception):
    """The change is not (or no longer) in effect on the target."""


def allowed_networks() -> tuple[Any, ...]:
    return parse_networks(os.environ.get("MAO_HEALING_ALLOWED_NETWORKS", ""))


def check_target_url(url: str) -> str:
    """The normalised URL, or UnsafeUrlError. Plain http only to networks the operator allowed."""
    checked = check_url(url, allowed_networks())
    if checked.url.startswith("http://") and not allowed_networks():
        raise UnsafeUrlError("targets must use https")
    return checked.url


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect())


def _request(method: str, url: str, headers: dict[str, str], body: bytes | None = None) -> tuple[int, Any]:
    try:
        check_target_url(url)
    except UnsafeUrlError as exc:
        raise TargetApplyFailed(str(exc)) from None
    req = urllib.request.Request(url, data=body, method=method,
                                 headers={"Accept": "application/json", **headers})
    try:
        with _opener.open(req, timeout=TIMEOUT_S) as resp:
            status, raw = resp.status, resp.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read(MAX_RESPONSE_BYTES + 1)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise TransientTargetError(f"{method} {url}: {exc}") from None
    if len(raw) > MAX_RESPONSE_BYTES:
        raise TargetApplyFailed(f"{method} {url}: response larger than {MAX_RESPONSE_BYTES} bytes")
    if status >= 500 or status == 429:
        raise TransientTargetError(f"{method} {url}: HTTP {status}")
    if 300 <= status < 400:
        raise TargetApplyFailed(f"{method} {url}: redirect refused (HTTP {status})")
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = None
    return status, data


# ---------------------------------------------------------------- n8n
def _n8n_url(target: dict[str, Any]) -> str:
    return f"{target['base_url'].rstrip('/')}/api/v1/workflows/{target['workflow_id']}"


def _n8n_headers(target: dict[str, Any]) -> dict[str, str]:
    return {"X-N8N-API-KEY": target.get("api_key") or "", "Content-Type": "application/json"}


def _n8n_read(target: dict[str, Any]) -> dict[str, Any]:
    status, data = _request("GET", _n8n_url(target), _n8n_headers(target))
    if status != 200 or not isinstance(data, dict):
        raise TargetApplyFailed(f"reading workflow {target['workflow_id']}: HTTP {status}")
    return data


def _n8n_write(target: dict[str, Any], workflow: dict[str, Any]) -> dict[str, Any]:
    # The public API's PUT takes these fields only; read-only ones (id, active, timestamps) are rejected.
    body = {k: workflow[k] for k in ("name", "nodes", "connections", "settings", "staticData") if k in workflow}
    body.setdefault("settings", {})
    status, data = _request("PUT", _n8n_url(target), _n8n_headers(target), json.dumps(body).encode())
    if status != 200:
        detail = data.get("message") if isinstance(data, dict) else None
        raise TargetApplyFailed(f"writing workflow {target['workflow_id']}: HTTP {status} {detail or ''}".strip())
    return data if isinstance(data, dict) else body


# ---------------------------------------------------------------- webhook
def sign(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 of ``"{timestamp}.{body}"`` with the target's secret, hex, prefixed ``sha256=``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _webhook_call(target: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(message, sort_keys=True, separators=(",", ":")).encode()
    ts = int(time.time())
    headers = {"Content-Type": "application/json", "X-MAO-Timestamp": str(ts),
               "X-MAO-Signature": sign(target["secret"], ts, body)}
    status, data = _request("POST", target["url"], headers, body)
    if status >= 400 or not isinstance(data, dict):
        raise TargetApplyFailed(f"webhook answered HTTP {status} to {message['action']}")
    return data


# ---------------------------------------------------------------- the driver interface
def snapshot(tenant_id: str, target: dict[str, Any]) -> dict[str, Any]:
    kind = target["type"]
    if kind == "n8n":
        return {"type": "n8n", "workflow": _n8n_read(target)}
    if kind == "agent_config":
        from mao.adapters import agent_config

        current = agent_config.latest(tenant_id, target["agent_id"])
        return {"type": "agent_config", "version": int(current.version) if current else 0,
                "config": current.config if current else {}}
    if kind == "webhook":
        return {"type": "webhook", "note": "the receiver keeps its own state; rollback asks it to undo"}
    raise TargetApplyFailed(f"unknown target type {kind!r}")


def apply(tenant_id: str, target: dict[str, Any], plan: dict[str, Any], snap: dict[str, Any],
          operation_id: str, by: str) -> dict[str, Any]:
    ops = plan["operations"]
    kind = target["type"]
    try:
        if kind == "n8n":
            patched = apply_n8n_ops(_n8n_read(target), ops)
            _n8n_write(target, patched)
            return {"type": "n8n", "workflow_id": target["workflow_id"], "operations": ops}
        if kind == "agent_config":
            from mao.adapters import agent_config

            new = apply_config_ops(snap.get("config") or {}, ops)
            try:
                record = agent_config.put_version(tenant_id, target["agent_id"], new, f"healing:{operation_id}", by,
                                                  expected_version=snap.get("version", 0))
            except agent_config.VersionConflict as exc:
                raise TargetApplyFailed(str(exc)) from None
            return {"type": "agent_config", "agent_id": target["agent_id"], "version": int(record.version),
                    "operations": ops}
    except PatchError as exc:
        raise TargetApplyFailed(f"the plan does not fit the target: {exc}") from None
    if kind == "webhook":
        answer = _webhook_call(target, {"action": "apply", "operation_id": operation_id, "tenant_id": tenant_id,
                                        "plan": plan})
        if answer.get("status") != "applied":
            raise TargetApplyFailed(f"webhook reported {answer.get('status')!r}: {answer.get('detail', '')}")
        return {"type": "webhook", "answer": answer, "operations": ops}
    raise TargetApplyFailed(f"unknown target type {kind!r}")


def verify(tenant_id: str, target: dict[str, Any], plan: dict[str, Any], operation_id: str) -> dict[str, Any]:
    ops = plan["operations"]
    kind = target["type"]
    if kind == "n8n":
        unmet = unmet_n8n_ops(_n8n_read(target), ops)
    elif kind == "agent_config":
        from mao.adapters import agent_config

        current = agent_config.latest(tenant_id, target["agent_id"])
        unmet = unmet_config_ops(current.config if current else {}, ops)
    elif kind == "webhook":
        answer = _webhook_call(target, {"action": "verify", "operation_id": operation_id, "tenant_id": tenant_id,
                                        "plan": plan})
        if answer.get("status") != "verified":
            raise VerificationFailed(f"webhook reported {answer.get('status')!r}: {answer.get('detail', '')}")
        return {"target": "verified", "answer": answer}
    else:
        raise TargetApplyFailed(f"unknown target type {kind!r}")
    if unmet:
        raise VerificationFailed(f"{len(unmet)} of {len(ops)} changes are not in effect on the target")
    return {"target": "verified", "checked_operations": len(ops)}


def rollback(tenant_id: str, target: dict[str, Any], snap: dict[str, Any], operation_id: str,
             by: str) -> dict[str, Any]:
    kind = target["type"]
    if kind == "n8n":
        _n8n_write(target, snap["workflow"])
        return {"type": "n8n", "restored": "workflow"}
    if kind == "agent_config":
        from mao.adapters import agent_config

        record = agent_config.put_version(tenant_id, target["agent_id"], snap.get("config") or {},
                                          f"rollback:{operation_id}", by)
        return {"type": "agent_config", "restored_version": snap.get("version", 0), "version": int(record.version)}
    if kind == "webhook":
        answer = _webhook_call(target, {"action": "rollback", "operation_id": operation_id, "tenant_id": tenant_id})
        if answer.get("status") != "rolled_back":
            raise TargetApplyFailed(f"webhook could not roll back: {answer.get('status')!r}")
        return {"type": "webhook", "answer": answer}
    raise TargetApplyFailed(f"unknown target type {kind!r}")


def redact(target: dict[str, Any]) -> dict[str, Any]:
    """The target as shown to clients: no API keys or secrets."""
    shown = {k: ("***" if k in ("api_key", "secret") and v else v) for k, v in target.items() if k != "api_key_enc"}
    if target.get("api_key_enc"):  # stored encrypted; say a key is set without showing any of it
        shown["api_key"] = "***"
    return shown
