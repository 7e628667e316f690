"""Billing: plans, Stripe Checkout and Customer Portal, webhook processing and quota enforcement.

Configuration (environment, from template parameters): ``MAO_STRIPE_SECRET_KEY``,
``MAO_STRIPE_WEBHOOK_SECRET``, ``MAO_STRIPE_PRICES`` (``pro=price_...,team=price_...``),
``MAO_STRIPE_API_BASE`` (another Stripe-compatible server; empty for Stripe itself) and
``MAO_BILLING_RETURN_URL`` (where Checkout and the portal send the user back).

The tenant's plan lives on its tenant row; Stripe events change it (checkout completed, subscription
updated or cancelled, payment failed or recovered) exactly once per event id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mao.adapters import billing as store
from mao.adapters import usage
from mao.adapters.tenants import get_tenant
from mao.api.errors import ApiError
from mao.domain import plans
from mao.domain.metrics_model import usage_key

WEBHOOK_TOLERANCE_SECONDS = 300


@dataclass(frozen=True, slots=True)
class StripeConfig:
    secret_key: str
    webhook_secret: str
    api_base: str
    prices: dict[str, str] = field(default_factory=dict)  # plan -> Stripe price id
    return_url: str = ""

    def plan_for_price(self, price_id: str | None) -> str | None:
        return next((plan for plan, pid in self.prices.items() if pid == price_id), None)


def stripe_config() -> StripeConfig:
    prices: dict[str, str] = {}
    for pair in store.env("MAO_STRIPE_PRICES").split(","):
        name, _, price = pair.partition("=")
        if name.strip() and price.strip():
            prices[name.strip()] = price.strip()
    return StripeConfig(store.env("MAO_STRIPE_SECRET_KEY"), store.env("MAO_STRIPE_WEBHOOK_SECRET"),
                        store.env("MAO_STRIPE_API_BASE"), prices,
                        store.env("MAO_BILLING_RETURN_URL", "http://localhost:3000/billing"))


def _not_configured(what: str) -> ApiError:
    return ApiError(409, "not_configured", f"billing is not configured on this deployment: {what}")


def _client(cfg: StripeConfig) -> Any:
    if not cfg.secret_key:
        raise _not_configured("no Stripe secret key (MAO_STRIPE_SECRET_KEY)")
    return store.stripe_client(cfg.secret_key, cfg.api_base or None)


def _stripe_failure(exc: Exception) -> ApiError:
    detail = getattr(exc, "user_message", None) or exc
    return ApiError(502, "payment_provider_error", f"Stripe request failed: {detail}")


# ------------------------------------------------------------------------------------------ plans
def list_plans() -> dict[str, Any]:
    cfg = stripe_config()
    items = []
    for name in plans.PLAN_ORDER:
        plan = plans.PLANS[name]
        items.append({**plan.to_dict(), "checkout_available": plan.self_serve and name in cfg.prices})
    return {"items": items, "total": len(items), "currency": "usd", "usage_period": "calendar month (UTC)"}


def tenant_plan(tenant_id: str) -> plans.Plan:
    tenant = get_tenant(tenant_id)
    return plans.get_plan(tenant.plan if tenant else None)


# ------------------------------------------------------------------------------------------ quota
def check_and_count(tenant_id: str, kind: plans.UsageKind, n: int,
                    now: datetime | None = None) -> plans.QuotaVerdict:
    """Count ``n`` units of usage if they fit in the tenant's plan this month (atomic across instances)."""
    now = now or datetime.now(UTC)
    plan = tenant_plan(tenant_id)
    limit = plan.limits.for_kind(kind)
    key = usage_key(plans.period_of(now), kind)
    if n <= 0:
        return plans.evaluate(plan, kind, usage.get(tenant_id, [key])[key], 0, now)
    try:
        total = usage.add_within(tenant_id, key, n, limit)
    except usage.LimitExceeded as exc:
        return plans.evaluate(plan, kind, exc.current, n, now)
    return plans.QuotaVerdict(True, kind, plan.name, limit, total, n)


def check_and_count_spans(tenant_id: str, n_spans: int, n_traces: int = 0,
                          now: datetime | None = None) -> plans.QuotaVerdict:
    """The ingest path's quota gate: counts spans (and new traces) or refuses the whole request.

    Use ``quota_error(verdict)`` to turn a refusal into the 429 answer."""
    now = now or datetime.now(UTC)
    spans = check_and_count(tenant_id, "spans", n_spans, now)
    if not spans.allowed or n_traces <= 0:
        return spans
    traces = check_and_count(tenant_id, "traces", n_traces, now)
    if not traces.allowed:  # give the spans back: the request is refused as a whole
        usage.add(tenant_id, {usage_key(plans.period_of(now), "spans"): -n_spans})
        return traces
    return spans


def quota_error(verdict: plans.QuotaVerdict) -> ApiError:
    return ApiError(429, "quota_exceeded", verdict.message(),
                    {"kind": verdict.kind, "plan": verdict.plan, "limit": verdict.limit, "used": verdict.used,
                     "requested": verdict.requested},
                    headers={"Retry-After": str(verdict.retry_after or 60)})


# ------------------------------------------------------------------------------------------ status
def _iso(epoch: int | float | None) -> str | None:
    return datetime.fromtimestamp(int(epoch), UTC).isoformat() if epoch else None


def status(tenant_id: str, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    plan = tenant_plan(tenant_id)
    account = store.get_account(tenant_id)
    period = plans.period_of(now)
    start, end = plans.period_bounds(now)
    used = usage.get(tenant_id, [usage_key(period, k) for k in ("spans", "traces", "detections")])
    subscription = None
    if account is not None and account.stripe_subscription_id:
        subscription = {
            "id": account.stripe_subscription_id, "status": account.status,
            "plan": account.subscribed_plan,
            "current_period_start": _iso(account.current_period_start),
            "current_period_end": _iso(account.current_period_end),
            "cancel_at_period_end": bool(account.cancel_at_period_end),
            "last_payment_failed_at": _iso(account.last_payment_failed_at),
        }
    return {
        "tenant_id": tenant_id,
        "plan": plan.name,
        "plan_details": plan.to_dict(),
        "status": (account.status if account and account.status else "active" if plan.name != "free" else "free"),
        "stripe_customer": bool(account and account.stripe_customer_id),
        "subscription": subscription,
        "usage_period": {"period": period, "start": start.isoformat(), "end": end.isoformat()},
        "usage": plans.usage_report(plan, {k: used[usage_key(period, k)] for k in ("spans", "traces", "detections")}),
        "limits": plan.to_dict()["limits"],
    }


# ------------------------------------------------------------------------------------------ checkout
def _ensure_customer(client: Any, tenant_id: str) -> str:
    account = store.get_account(tenant_id)
    if account is not None and account.stripe_customer_id:
        return account.stripe_customer_id
    tenant = get_tenant(tenant_id)
    customer = client.v1.customers.create(params={
        "name": tenant.name if tenant else tenant_id, "metadata": {"tenant_id": tenant_id}})
    store.set_customer(tenant_id, customer.id)
    return str(customer.id)


def create_checkout(tenant_id: str, plan_name: str, success_url: str | None = None,
                    cancel_url: str | None = None) -> dict[str, Any]:
    cfg = stripe_config()
    plan = plans.PLANS.get(plan_name)
    if plan is None:
        raise ApiError(422, "validation_error", f"unknown plan {plan_name!r}",
                       [{"field": "plan", "message": f"one of {list(plans.PLAN_ORDER)}"}])
    if not plan.self_serve:
        raise ApiError(422, "validation_error", f"the {plan_name!r} plan is not sold through checkout",
                       [{"field": "plan", "message": "choose a paid plan"}])
    if plan_name not in cfg.prices:
        raise _not_configured(f"no Stripe price configured for the {plan_name!r} plan (MAO_STRIPE_PRICES)")
    account = store.get_account(tenant_id)
    if account is not None and account.stripe_subscription_id and account.status in ("active", "trialing",
                                                                                       "past_due"):
        raise ApiError(409, "conflict", "the tenant already has a subscription; change plans in the customer "
                       "portal (GET /billing/portal)")
    client = _client(cfg)
    try:
        customer = _ensure_customer(client, tenant_id)
        session = client.v1.checkout.sessions.create(params={
            "mode": "subscription", "customer": customer, "client_reference_id": tenant_id,
            "line_items": [{"price": cfg.prices[plan_name], "quantity": 1}],
            "success_url": success_url or f"{cfg.return_url}?checkout=success&session_id={{CHECKOUT_SESSION_ID}}",
            "cancel_url": cancel_url or f"{cfg.return_url}?checkout=cancelled",
            "metadata": {"tenant_id": tenant_id, "plan": plan_name},
            "subscription_data": {"metadata": {"tenant_id": tenant_id, "plan": plan_name}},
        })
    except ApiError:
        raise
    except Exception as exc:
        if _is_stripe_error(exc):
            raise _stripe_failure(exc) from None
        raise
    return {"session_id": session.id, "url": session.url, "plan": plan_name, "customer": customer}


def create_portal(tenant_id: str, return_url: str | None = None) -> dict[str, Any]:
    cfg = stripe_config()
    client = _client(cfg)
    account = store.get_account(tenant_id)
    if account is None or not account.stripe_customer_id:
        raise ApiError(409, "conflict", "no billing account yet: start a checkout first (POST /billing/checkout)")
    try:
        session = client.v1.billing_portal.sessions.create(params={
            "customer": account.stripe_customer_id, "return_url": return_url or cfg.return_url})
    except Exception as exc:
        if _is_stripe_error(exc):
            raise _stripe_failure(exc) from None
        raise
    return {"url": session.url, "session_id": session.id}


def _is_stripe_error(exc: Exception) -> bool:
    import stripe

    return isinstance(exc, stripe.StripeError)


# ------------------------------------------------------------------------------------------ webhooks
def verify_event(payload: bytes, signature: str | None, cfg: StripeConfig) -> dict[str, Any]:
    import stripe

    if not cfg.webhook_secret:
        raise _not_configured("no webhook signing secret (MAO_STRIPE_WEBHOOK_SECRET)")
    if not signature:
        raise ApiError(400, "invalid_signature", "missing stripe-signature header")
    try:
        stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature, cfg.webhook_secret,
                                              WEBHOOK_TOLERANCE_SECONDS)
    except (stripe.SignatureVerificationError, UnicodeDecodeError):
        raise ApiError(400, "invalid_signature", "stripe-signature does not match the payload") from None
    try:
        event = json.loads(payload)
    except ValueError:
        raise ApiError(400, "invalid_json", "the event is not valid JSON") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str) \
            or not isinstance((event.get("data") or {}).get("object"), dict):
        raise ApiError(400, "invalid_event", "not a Stripe event (id, type and data.object required)")
    return event


def _first_item(sub: dict[str, Any]) -> dict[str, Any]:
    items = (sub.get("items") or {}).get("data") or []
    return items[0] if items else {}


def subscription_change(sub: dict[str, Any], cfg: StripeConfig) -> store.AccountChange:
    item = _first_item(sub)
    price_id = (item.get("price") or {}).get("id") or (item.get("plan") or {}).get("id")
    subscribed = cfg.plan_for_price(price_id) or (sub.get("metadata") or {}).get("plan")
    if subscribed is not None and not plans.is_plan(subscribed):
        subscribed = None
    status_ = str(sub.get("status") or "")
    start = sub.get("current_period_start") or item.get("current_period_start")
    end = sub.get("current_period_end") or item.get("current_period_end")
    return store.AccountChange(
        plan=plans.effective_plan(status_, subscribed), status=status_, subscribed_plan=subscribed,
        stripe_customer_id=_id(sub.get("customer")), stripe_subscription_id=_id(sub.get("id")),
        current_period_start=int(start) if start else None, current_period_end=int(end) if end else None,
        cancel_at_period_end=bool(sub.get("cancel_at_period_end")))


def _id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


def _known_tenant(tenant_id: Any) -> str | None:
    return tenant_id if isinstance(tenant_id, str) and get_tenant(tenant_id) is not None else None


def _tenant_of(obj: dict[str, Any]) -> str | None:
    meta = obj.get("metadata") or {}
    for candidate in (obj.get("client_reference_id"), meta.get("tenant_id"),
                      ((obj.get("subscription_details") or {}).get("metadata") or {}).get("tenant_id")):
        tenant = _known_tenant(candidate)
        if tenant:
            return tenant
    customer = _id(obj.get("customer"))
    return store.tenant_for_customer(customer) if customer else None


def _to_dict(obj: Any) -> dict[str, Any]:
    return obj if isinstance(obj, dict) else obj.to_dict()


def _change_for(event: dict[str, Any], tenant_id: str, cfg: StripeConfig) -> store.AccountChange | None:
    etype, obj = event["type"], event["data"]["object"]
    if etype == "checkout.session.completed":
        if obj.get("mode") not in (None, "subscription") or not obj.get("subscription"):
            return None
        sub = _to_dict(_client(cfg).v1.subscriptions.retrieve(_id(obj["subscription"])))
        change = subscription_change(sub, cfg)
        if change.subscribed_plan is None:
            meta_plan = (obj.get("metadata") or {}).get("plan")
            if meta_plan and plans.is_plan(meta_plan):
                return store.AccountChange(**{**_fields(change), "subscribed_plan": meta_plan,
                                              "plan": plans.effective_plan(change.status, meta_plan)})
        return change
    if etype in ("customer.subscription.created", "customer.subscription.updated",
                 "customer.subscription.deleted"):
        return subscription_change(obj, cfg)
    account = store.get_account(tenant_id)
    if etype == "invoice.payment_failed":
        if account is None or not account.stripe_subscription_id:
            return None
        return store.AccountChange(status="past_due", last_payment_failed_at=int(event.get("created") or 0))
    if etype in ("invoice.paid", "invoice.payment_succeeded"):
        if account is None or account.status != "past_due":
            return None
        return store.AccountChange(status="active")
    return None


def _fields(change: store.AccountChange) -> dict[str, Any]:
    return {name: getattr(change, name) for name in store.AccountChange.__slots__}


HANDLED_EVENTS = ("checkout.session.completed", "customer.subscription.created", "customer.subscription.updated",
                  "customer.subscription.deleted", "invoice.payment_failed", "invoice.paid",
                  "invoice.payment_succeeded")


def handle_webhook(payload: bytes, signature: str | None) -> dict[str, Any]:
    cfg = stripe_config()
    event = verify_event(payload, signature, cfg)
    result: dict[str, Any] = {"received": True, "event_id": event["id"], "type": event["type"]}
    if event["type"] not in HANDLED_EVENTS:
        return {**result, "outcome": "ignored", "reason": "event type not handled"}
    tenant_id = _tenant_of(event["data"]["object"])
    if tenant_id is None:
        return {**result, "outcome": "ignored", "reason": "no MAO tenant for this Stripe object"}
    if store.event_seen(tenant_id, event["id"]):
        return {**result, "outcome": "duplicate", "tenant_id": tenant_id}
    change = _change_for(event, tenant_id, cfg) or store.AccountChange()
    applied = store.apply_event(tenant_id, event["id"], event["type"], int(event.get("created") or 0), change)
    tenant = get_tenant(tenant_id)
    return {**result, "outcome": "applied" if applied else "duplicate", "tenant_id": tenant_id,
            "plan": tenant.plan if tenant else None}
