"""Platform integrations: registries, signed webhooks and the SSE streams.

Webhook path: tenant (from the API key) -> the registered entity named in the payload -> timestamp,
signature and nonce checks -> normalise into spans -> ``store_spans`` (the same idempotent write path
as OTLP) -> ``analyze_trace`` -> stream events. Nothing is stored when a check fails. The execution's
content hash is recorded, so a re-delivery of the same execution returns the same trace without new
writes or events, while a changed execution (a session that grew) updates its trace.

Configuration (environment):
- ``MAO_WEBHOOK_TOLERANCE_SECONDS``: accepted clock difference of ``X-MAO-Timestamp`` (default 300);
  nonces are remembered for twice that.
- ``MAO_WEBHOOK_SECRET_GRACE_SECONDS``: how long a rotated-out secret still verifies (default 0).
- ``MAO_INTEGRATION_ALLOWED_NETWORKS``: CIDRs an operator allows instance URLs to resolve into
  (loopback/private ranges are refused otherwise). Read per call.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from typing import Any

from mao.adapters import events, integrations, nonces, secrets
from mao.api.errors import ApiError
from mao.domain.integrations import PROVIDERS, NormalisedRun, PayloadError, Provider, signing, sse, ssrf

log = logging.getLogger("mao.integrations")

# Connection registries (hold a base URL and provider API key, no webhook secret), per provider.
CONNECTION_KINDS: dict[str, tuple[str, ...]] = {"dify": ("instances",), "langgraph": ("deployments",),
                                                 "openclaw": ("instances",)}


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip().isdigit() else default


def tolerance_seconds() -> int:
    return _env_int("MAO_WEBHOOK_TOLERANCE_SECONDS", signing.DEFAULT_TOLERANCE_SECONDS)


def allowed_networks() -> tuple[ssrf.IPNetwork, ...]:
    return ssrf.parse_networks(os.environ.get("MAO_INTEGRATION_ALLOWED_NETWORKS", ""))


def provider(name: str) -> Provider:
    found = PROVIDERS.get(name)
    if found is None:
        raise ApiError(404, "not_found", f"unknown provider {name!r}")
    return found


def check_instance_url(url: str) -> str:
    try:
        return ssrf.check_url(url, allowed_networks()).url
    except ssrf.UnsafeUrlError as exc:
        raise ApiError(422, "unsafe_url", str(exc), [{"field": "base_url", "message": str(exc)}]) from None


# --- registries ----------------------------------------------------------------------------------


def _secret_purpose(provider_name: str, kind: str, entity_id: str) -> str:
    return f"webhook-secret:{provider_name}:{kind}:{entity_id}"


def _api_key_purpose(provider_name: str, kind: str, entity_id: str) -> str:
    return f"api-key:{provider_name}:{kind}:{entity_id}"


def entity_view(item: integrations.IntegrationModel) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": item.entity_id, "provider": item.provider, "kind": item.kind, "name": item.name,
        "created_at": integrations.iso(item.created_at), "updated_at": integrations.iso(item.updated_at),
        "config": item.config or {},
    }
    if item.parent_id:
        view["parent_id"] = item.parent_id
    if item.base_url:
        view["base_url"] = item.base_url
    if item.kind in CONNECTION_KINDS.get(item.provider, ()):
        view["has_api_key"] = bool(item.api_key_ct)
    else:
        view["webhook_url"] = f"/api/v1/{item.provider}/webhook"
        view["secret_rotated_at"] = integrations.iso(item.updated_at) if item.previous_secret_ct else None
    return view


@dataclass(frozen=True, slots=True)
class Registration:
    provider: str
    kind: str
    entity_id: str
    name: str | None = None
    parent_id: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    config: dict[str, Any] | None = None


def register(tenant_id: str, reg: Registration) -> dict[str, Any]:
    """Register an entity. Signing entities get a webhook secret, returned here once."""
    is_connection = reg.kind in CONNECTION_KINDS.get(reg.provider, ())
    base_url = check_instance_url(reg.base_url) if reg.base_url else None
    prov = provider(reg.provider)
    if reg.parent_id:
        container = prov.container_kind
        if container is None or integrations.get(
                tenant_id, integrations.entity_key(reg.provider, container, reg.parent_id)) is None:
            raise ApiError(404, "not_found", f"{reg.provider} {container or 'parent'} {reg.parent_id!r} not found")
    secret = None if is_connection else secrets.new_webhook_secret()
    fields: dict[str, Any] = {"name": reg.name, "parent_id": reg.parent_id, "base_url": base_url,
                              "config": reg.config or None}
    if secret:
        fields["secret_ct"] = secrets.encrypt(secret, tenant_id, _secret_purpose(reg.provider, reg.kind, reg.entity_id))
    if reg.api_key:
        fields["api_key_ct"] = secrets.encrypt(reg.api_key, tenant_id,
                                               _api_key_purpose(reg.provider, reg.kind, reg.entity_id))
    item = integrations.create_entity(tenant_id, reg.provider, reg.kind, reg.entity_id, **fields)
    if item is None:
        raise ApiError(409, "conflict", f"{reg.provider} {reg.kind[:-1]} {reg.entity_id!r} is already registered"
                       + ("" if is_connection else "; rotate its secret to get a new one"))
    view = entity_view(item)
    if secret:
        view["webhook_secret"] = secret
        view["note"] = "store the webhook_secret now: it is shown only once (rotate to replace it)"
    return view


def rotate(tenant_id: str, provider_name: str, kind: str, entity_id: str, grace_seconds: int | None) -> dict[str, Any]:
    if kind in CONNECTION_KINDS.get(provider_name, ()):
        raise ApiError(404, "not_found", f"{provider_name} {kind} have no webhook secret")
    item = integrations.get(tenant_id, integrations.entity_key(provider_name, kind, entity_id))
    if item is None:
        raise ApiError(404, "not_found", f"{provider_name} {kind[:-1]} {entity_id!r} not found")
    grace = grace_seconds if grace_seconds is not None else _env_int("MAO_WEBHOOK_SECRET_GRACE_SECONDS", 0)
    secret = secrets.new_webhook_secret()
    ct = secrets.encrypt(secret, tenant_id, _secret_purpose(provider_name, kind, entity_id))
    integrations.rotate_secret(item, ct, int(time.time()) + grace if grace > 0 else None)
    return {**entity_view(item), "webhook_secret": secret, "previous_secret_valid_seconds": max(grace, 0),
            "note": "store the webhook_secret now: it is shown only once"}


def connection_api_key(tenant_id: str, item: integrations.IntegrationModel) -> str | None:
    if not item.api_key_ct:
        return None
    return secrets.decrypt(item.api_key_ct, tenant_id, _api_key_purpose(item.provider, item.kind,
                                                                           item.entity_id or ""))


def _signing_secrets(tenant_id: str, item: integrations.IntegrationModel, now: float) -> list[str]:
    purpose = _secret_purpose(item.provider, item.kind, item.entity_id or "")
    out = [secrets.decrypt(item.secret_ct, tenant_id, purpose)] if item.secret_ct else []
    if item.previous_secret_ct and item.previous_valid_until and item.previous_valid_until > now:
        out.append(secrets.decrypt(item.previous_secret_ct, tenant_id, purpose))
    return out


# --- webhooks ------------------------------------------------------------------------------------


def _unauthorized(reason: str) -> ApiError:
    return ApiError(401, "invalid_signature", reason)


def receive_webhook(tenant_id: str, provider_name: str, body: bytes, headers: signing.SignedHeaders,
                    now: float | None = None) -> dict[str, Any]:
    prov = provider(provider_name)
    now = time.time() if now is None else now
    tolerance = tolerance_seconds()
    try:
        signing.check_freshness(headers, now, tolerance)
        signing.check_nonce_format(headers)
    except signing.SignatureError as exc:
        raise _unauthorized(str(exc)) from None
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
    try:
        entity_id = prov.entity_id(payload) if isinstance(payload, dict) else None
    except PayloadError:
        entity_id = None
    if not entity_id:
        raise ApiError(422, "validation_error", f"the payload must name its {prov.entity_kind[:-1]} "
                       f"({prov.entity_field})", [{"field": prov.entity_field, "message": "required"}])
    item = integrations.get(tenant_id, integrations.entity_key(prov.name, prov.entity_kind, entity_id))
    if item is None:
        raise _unauthorized(f"{prov.name} {prov.entity_kind[:-1]} {entity_id!r} is not registered for this "
                            f"tenant; register it (POST /api/v1/{prov.name}/{prov.entity_kind}) to get its secret")
    try:
        nonce = signing.verify(headers, body, _signing_secrets(tenant_id, item, now), now, tolerance)
    except signing.SignatureError as exc:
        raise _unauthorized(str(exc)) from None
    try:
        run = prov.normalise(payload)
    except PayloadError as exc:
        raise ApiError(422, "validation_error", f"invalid {prov.name} payload: {exc}") from None
    if not nonces.claim(tenant_id, nonce, int(now), 2 * tolerance):
        raise _unauthorized("X-MAO-Nonce was already used (replayed request)")
    try:
        return ingest_run(tenant_id, run, source="webhook")
    except Exception:
        nonces.release(tenant_id, nonce)  # nothing was stored under this request: let the sender retry it
        raise


def ingest_run(tenant_id: str, run: NormalisedRun, source: str) -> dict[str, Any]:
    """Store, analyse and announce one normalised execution, once per distinct content."""
    from mao.services.analysis import analyze_trace, detection_view
    from mao.services.ingest import store_spans

    digest = run.content_hash()
    base_state = {"entity_id": run.entity_id, "external_id": run.external_id, "source": source,
                  "status": "processing"}
    claimed, previous = integrations.claim_execution(tenant_id, run.provider, run.trace_id, digest, base_state)
    result = {"provider": run.provider, "trace_id": run.trace_id, "execution_id": run.external_id,
              "entity_id": run.entity_id, "span_count": len(run.spans)}
    if not claimed:
        state = (previous.state or {}) if previous else {}
        return {**result, "duplicate": True, "detections": state.get("detections", [])}
    try:
        stored = store_spans(tenant_id, run.spans)
        analysis = analyze_trace(tenant_id, run.trace_id)
    except Exception:
        integrations.restore_execution(tenant_id, run.provider, run.trace_id, previous)
        raise
    views = [detection_view(d) for d in analysis.detections]
    brief = [{"id": v["id"], "detection_type": v["detection_type"], "f_code": v["f_code"],
              "confidence": v["confidence"], "severity": v["severity"]} for v in views]
    known = {d["id"] for d in ((previous.state or {}).get("detections", []) if previous else [])}
    integrations.finish_execution(tenant_id, run.provider, run.trace_id,
                                  {**base_state, "status": run.status, "detections": brief})
    announce = {**result, "name": run.name, "status": run.status, "source": source,
                "updated": previous is not None, "detection_count": len(views), "new_spans": stored.new,
                "updated_spans": stored.updated, "metadata": run.metadata}
    try:
        events.append(tenant_id, run.provider, "execution", announce)
        for view in views:
            if view["id"] not in known:
                events.append(tenant_id, run.provider, "detection",
                              {"trace_id": run.trace_id, "execution_id": run.external_id, **view})
    except Exception:  # the trace is stored and analysed; a lost announcement must not fail the delivery
        log.exception("stream events for %s/%s were not written", run.provider, run.trace_id)
    return {**result, "duplicate": False, "updated": previous is not None, "status": run.status,
            "detections": brief}


# --- streams -------------------------------------------------------------------------------------

MAX_WAIT_SECONDS = 20.0
POLL_SECONDS = 0.25
RETRY_MS = 1000


def stream_body(tenant_id: str, provider_name: str, last_event_id: str | None, wait: float,
                replay: bool = False, limit: int = 100) -> str:
    """The events after ``last_event_id`` (waiting up to ``wait`` seconds for the first), as an SSE body.

    Without ``Last-Event-ID`` the stream starts now (or at the oldest retained event with ``replay``)
    and opens with a ``ready`` event whose id is that position, so a client that reconnects with it
    misses nothing even when no event arrived meanwhile.
    """
    provider(provider_name)
    if last_event_id is not None and not events.EVENT_ID.match(last_event_id):
        raise ApiError(400, "bad_last_event_id", "Last-Event-ID is not an id this stream sent")
    parts = [sse.retry(RETRY_MS)]
    after = last_event_id
    if after is None:
        start = time.time()
        after = None if replay else events.cursor_at(start - 1.0)
        parts.append(sse.event(after or events.cursor_at(0), "ready", {"provider": provider_name}))
    deadline = time.monotonic() + max(0.0, min(wait, MAX_WAIT_SECONDS))
    while True:
        found = events.read_after(tenant_id, provider_name, after, limit)
        if found or time.monotonic() >= deadline:
            break
        time.sleep(POLL_SECONDS)
    for ev in found:
        parts.append(sse.event(ev.event_id, ev.kind, ev.data))
    if not found:
        parts.append(sse.comment("no new events; reconnect with Last-Event-ID"))
    return "".join(parts)
