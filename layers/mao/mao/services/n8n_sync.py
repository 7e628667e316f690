"""n8n historical sync and workflow discovery through n8n's public REST API.

``GET {base}/api/v1/workflows`` and ``GET {base}/api/v1/executions?includeData=true`` (cursor
pagination via ``nextCursor``), authenticated with ``X-N8N-API-KEY``. The instance URL is checked
against SSRF on every call (addresses are resolved again, so a DNS change cannot slip an internal
address in later); redirects are not followed. Executions go through the same normaliser and
idempotent path as webhooks, so an execution seen by both is one trace.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from mao.adapters import integrations, secrets
from mao.api.errors import ApiError
from mao.domain.integrations import PayloadError, n8n
from mao.services import integrations as service

PROVIDER = "n8n"
_PURPOSE = "api-key:n8n:sync:connection"
PAGE_LIMIT = 100
MAX_RESPONSE_BYTES = 32 * 1024 * 1024


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


@dataclass(slots=True)
class Connection:
    base_url: str
    api_key: str


def connection(tenant_id: str, base_url: str | None, api_key: str | None) -> Connection:
    """The connection to use: the one given (checked, then remembered with the key encrypted) or the
    tenant's stored one."""
    if base_url:
        if not api_key:
            raise ApiError(422, "validation_error", "api_key is required with base_url",
                           [{"field": "api_key", "message": "required"}])
        url = service.check_instance_url(base_url)
        integrations.save_sync(tenant_id, PROVIDER, base_url=url,
                               api_key_ct=secrets.encrypt(api_key, tenant_id, _PURPOSE))
        return Connection(url, api_key)
    stored = integrations.get(tenant_id, integrations.sync_key(PROVIDER))
    if stored is None or not stored.base_url or not stored.api_key_ct:
        raise ApiError(409, "not_connected", "no n8n instance is connected: send base_url and api_key")
    url = service.check_instance_url(stored.base_url)
    key = api_key or secrets.decrypt(stored.api_key_ct, tenant_id, _PURPOSE)
    return Connection(url, key)


def _get(conn: Connection, path: str, params: dict[str, Any]) -> dict[str, Any]:
    service.check_instance_url(conn.base_url)  # resolve again right before connecting
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    req = urllib.request.Request(f"{conn.base_url}{path}?{query}",
                                 headers={"X-N8N-API-KEY": conn.api_key, "Accept": "application/json"})
    try:
        with _OPENER.open(req, timeout=10) as resp:
            raw = resp.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise ApiError(502, "upstream_unauthorized", "the n8n instance refused the API key") from None
        raise ApiError(502, "upstream_error", f"the n8n instance answered {exc.code} for {path}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ApiError(502, "upstream_unreachable", f"the n8n instance could not be reached: {exc}") from None
    if len(raw) > MAX_RESPONSE_BYTES:
        raise ApiError(502, "upstream_error", "the n8n response is too large")
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(502, "upstream_error", f"the n8n instance sent invalid JSON for {path}") from None
    if not isinstance(body, dict) or not isinstance(body.get("data", []), list):
        raise ApiError(502, "upstream_error", f"unexpected n8n response for {path}")
    return body


def _pages(conn: Connection, path: str, params: dict[str, Any], max_pages: int):
    cursor: str | None = None
    for _ in range(max_pages):
        body = _get(conn, path, {**params, "limit": PAGE_LIMIT, "cursor": cursor})
        yield body.get("data", [])
        cursor = body.get("nextCursor")
        if not cursor:
            return


def discover(tenant_id: str, conn: Connection, register: bool, max_pages: int = 20) -> dict[str, Any]:
    found: list[dict[str, Any]] = []
    for page in _pages(conn, "/api/v1/workflows", {}, max_pages):
        for wf in page:
            if isinstance(wf, dict) and wf.get("id") is not None:
                found.append(wf)
    out = []
    for wf in found:
        wf_id = str(wf["id"])
        entry: dict[str, Any] = {"id": wf_id, "name": wf.get("name"), "active": wf.get("active")}
        if register:
            existing = integrations.get(tenant_id, integrations.entity_key(PROVIDER, "workflows", wf_id))
            if existing is None:
                reg = service.Registration(PROVIDER, "workflows", wf_id, name=wf.get("name"),
                                           base_url=None, config={"discovered_from": conn.base_url,
                                                                  "active": wf.get("active")})
                created = service.register(tenant_id, reg)
                entry.update(registered=True, webhook_secret=created["webhook_secret"])
            else:
                entry.update(registered=False, already_registered=True)
        out.append(entry)
    return {"base_url": conn.base_url, "workflows": out, "total": len(out),
            "registered": sum(1 for e in out if e.get("registered"))}


@dataclass(slots=True)
class SyncReport:
    pages: int = 0
    seen: int = 0
    imported: int = 0
    updated: int = 0
    duplicates: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    trace_ids: list[str] = field(default_factory=list)


def sync(tenant_id: str, conn: Connection, workflow_id: str | None = None, max_pages: int = 10) -> dict[str, Any]:
    integrations.save_sync(tenant_id, PROVIDER, state={"status": "running", "started_at": time.time()})
    report = SyncReport()
    names: dict[str, str] = {}
    try:
        for page in _pages(conn, "/api/v1/executions", {"includeData": "true", "workflowId": workflow_id},
                           max_pages):
            report.pages += 1
            for execution in page:
                report.seen += 1
                _import(tenant_id, execution, names, report)
    except ApiError as exc:
        integrations.save_sync(tenant_id, PROVIDER, state={"status": "failed", "error": exc.message,
                                                            "finished_at": time.time()})
        raise
    state = {"status": "completed", "finished_at": time.time(), "last_imported": report.imported,
             "last_updated": report.updated, "last_duplicates": report.duplicates, "last_seen": report.seen,
             "last_failed": len(report.failed)}
    saved = integrations.save_sync(tenant_id, PROVIDER, state=state)
    total = int((saved.state or {}).get("total_imported", 0)) + report.imported
    integrations.save_sync(tenant_id, PROVIDER, state={"total_imported": total})
    return {"status": "completed", "pages": report.pages, "executions_seen": report.seen,
            "imported": report.imported, "updated": report.updated, "duplicates": report.duplicates,
            "failed": report.failed, "trace_ids": report.trace_ids}


def _import(tenant_id: str, execution: Any, names: dict[str, str], report: SyncReport) -> None:
    if not isinstance(execution, dict):
        report.failed.append({"execution_id": "?", "error": "not an object"})
        return
    wf_id = str(execution.get("workflowId") or "")
    if wf_id and wf_id not in names:
        item = integrations.get(tenant_id, integrations.entity_key(PROVIDER, "workflows", wf_id))
        names[wf_id] = (item.name if item and item.name else "") or ""
    try:
        run = n8n.normalise(execution, workflow_name=names.get(wf_id) or None)
    except PayloadError as exc:
        report.failed.append({"execution_id": str(execution.get("id")), "error": str(exc)})
        return
    if str(execution.get("status", "")).lower() in ("running", "waiting", "new"):
        return  # unfinished: its webhook or a later sync brings the final state
    outcome = service.ingest_run(tenant_id, run, source="sync")
    report.trace_ids.append(run.trace_id)
    if outcome["duplicate"]:
        report.duplicates += 1
    elif outcome.get("updated"):
        report.updated += 1
    else:
        report.imported += 1


def status(tenant_id: str) -> dict[str, Any]:
    item = integrations.get(tenant_id, integrations.sync_key(PROVIDER))
    if item is None:
        return {"connected": False, "base_url": None, "has_api_key": False, "last_sync": None}
    state = dict(item.state or {})
    return {"connected": bool(item.base_url and item.api_key_ct), "base_url": item.base_url,
            "has_api_key": bool(item.api_key_ct), "last_sync": state or None,
            "updated_at": integrations.iso(item.updated_at)}
