"""Billing end to end: the stripe SDK against a local Stripe, webhooks signed with the SDK's helpers."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import stripe

from mao.domain.plans import PLANS, period_of
from mao_local.stack import free_port

pytestmark = pytest.mark.e2e
SERVER = Path(__file__).with_name("billing_localstripe.py")
WEBHOOK_SECRET = "whsec_" + secrets.token_hex(16)
STRIPE_KEY = "sk_test_" + secrets.token_hex(12)


def assert_error(resp, status, code):
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code


@pytest.fixture(scope="module")
def local_stripe():
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(SERVER), "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{url}/v1/customers", auth=(STRIPE_KEY, ""), timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None:
                    pytest.fail(f"local Stripe exited: {proc.stderr.read().decode() if proc.stderr else ''}")
                time.sleep(0.1)
        client = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": url})
        suffix = secrets.token_hex(4)
        prices = {}
        for name in ("pro", "team"):
            plan = client.v1.plans.create(params={"id": f"price_{name}_{suffix}", "currency": "usd",
                                                  "interval": "month", "amount": PLANS[name].price_usd_month * 100,
                                                  "product": {"name": f"MAO {name}"}})
            prices[name] = plan.id
        yield url, client, prices
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def stripe_env(stack, local_stripe, monkeypatch):
    """Point the deployment's billing configuration at the local Stripe (functions share this process)."""
    url, client, prices = local_stripe
    monkeypatch.setenv("MAO_STRIPE_SECRET_KEY", STRIPE_KEY)
    monkeypatch.setenv("MAO_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("MAO_STRIPE_API_BASE", url)
    monkeypatch.setenv("MAO_STRIPE_PRICES", ",".join(f"{k}={v}" for k, v in prices.items()))
    return url, client, prices


def signed(event: dict, secret: str = WEBHOOK_SECRET) -> tuple[str, dict[str, str]]:
    payload = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(payload, secret)
    return payload, {"stripe-signature": header, "content-type": "application/json"}


def make_event(etype: str, obj: dict, created: int | None = None) -> dict:
    return {"id": "evt_" + secrets.token_hex(12), "object": "event", "type": etype, "api_version": "2024-06-20",
            "created": created or int(time.time()), "livemode": False, "data": {"object": obj}}


def post_event(client, event: dict, secret: str = WEBHOOK_SECRET):
    payload, headers = signed(event, secret)
    return client.post("/api/v1/billing/webhooks/stripe", content=payload, headers=headers)


def otlp_spans(n: int) -> dict:
    trace_id = secrets.token_hex(16)
    spans = [{"traceId": trace_id, "spanId": secrets.token_hex(8), "name": f"step-{i}", "kind": 1,
              "startTimeUnixNano": str(1_700_000_000_000_000_000 + i),
              "endTimeUnixNano": str(1_700_000_001_000_000_000 + i)} for i in range(n)]
    scope = {"scope": {"name": "t"}, "spans": spans}
    return {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [scope]}]}


def ingest(client, tenant, n: int):
    return client.post(f"/api/v1/tenants/{tenant.tenant_id}/traces/ingest", json=otlp_spans(n), headers=tenant.headers)


def use_up_free_spans(tenant, leave: int) -> None:
    from mao.adapters import usage
    from mao.domain.metrics_model import usage_key

    key = usage_key(period_of(datetime.now(UTC)), "spans")
    used = usage.get(tenant.tenant_id, [key])[key]
    usage.add(tenant.tenant_id, {key: PLANS["free"].limits.spans_per_month - leave - used})


def status_of(client, tenant):
    resp = client.get("/api/v1/billing/status", headers=tenant.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_plans_are_public_with_limits_and_prices(client, stripe_env):
    resp = client.get("/api/v1/billing/plans")
    assert resp.status_code == 200
    items = {p["name"]: p for p in resp.json()["items"]}
    assert list(items) == ["free", "pro", "team", "enterprise"]
    assert items["pro"]["limits"]["spans_per_month"] > items["free"]["limits"]["spans_per_month"]
    assert items["pro"]["price_usd_month"] == PLANS["pro"].price_usd_month
    assert items["pro"]["checkout_available"] and not items["enterprise"]["checkout_available"]


def test_checkout_validates_the_plan_and_needs_a_tenant_credential(client, tenant, operator_headers, stripe_env):
    assert_error(client.post("/api/v1/billing/checkout", json={"plan": "pro"}), 401, "unauthorized")
    assert_error(client.post("/api/v1/billing/checkout", json={"plan": "pro"}, headers=operator_headers),
                 403, "forbidden")
    assert_error(client.post("/api/v1/billing/checkout", json={"plan": "gold"}, headers=tenant.headers),
                 422, "validation_error")
    assert_error(client.post("/api/v1/billing/checkout", json={"plan": "free"}, headers=tenant.headers),
                 422, "validation_error")
    assert_error(client.post("/api/v1/billing/checkout", json={}, headers=tenant.headers), 422, "validation_error")
    assert_error(client.post("/api/v1/billing/checkout", json={"plan": "enterprise"}, headers=tenant.headers),
                 409, "not_configured")


def test_without_stripe_configuration_checkout_and_portal_say_so(client, tenant, stack, monkeypatch):
    monkeypatch.setenv("MAO_STRIPE_SECRET_KEY", "")
    monkeypatch.setenv("MAO_STRIPE_PRICES", "pro=price_x")
    assert_error(client.post("/api/v1/billing/checkout", json={"plan": "pro"}, headers=tenant.headers),
                 409, "not_configured")
    assert_error(client.get("/api/v1/billing/portal", headers=tenant.headers), 409, "not_configured")


def test_the_portal_needs_a_billing_account_first(client, tenant, stripe_env):
    assert_error(client.get("/api/v1/billing/portal", headers=tenant.headers), 409, "conflict")
    assert_error(client.get("/api/v1/billing/portal"), 401, "unauthorized")


def test_a_forged_or_missing_signature_is_rejected(client, tenant, stripe_env):
    event = make_event("customer.subscription.updated",
                       {"id": "sub_x", "object": "subscription", "status": "active", "customer": "cus_x",
                        "metadata": {"tenant_id": tenant.tenant_id, "plan": "team"}})
    assert_error(post_event(client, event, secret="whsec_forged"), 400, "invalid_signature")
    payload, headers = signed(event)
    tampered = payload.replace('"team"', '"pro"')
    assert_error(client.post("/api/v1/billing/webhooks/stripe", content=tampered, headers=headers),
                 400, "invalid_signature")
    assert_error(client.post("/api/v1/billing/webhooks/stripe", content=payload), 400, "invalid_signature")
    stale = stripe.WebhookSignature.generate_signature_header(payload, WEBHOOK_SECRET, int(time.time()) - 3600)
    assert_error(client.post("/api/v1/billing/webhooks/stripe", content=payload,
                             headers={"stripe-signature": stale}), 400, "invalid_signature")
    assert status_of(client, tenant)["plan"] == "free"


def test_events_for_unknown_customers_or_types_are_acknowledged_and_ignored(client, stripe_env):
    resp = post_event(client, make_event("customer.subscription.updated",
                                         {"id": "sub_nobody", "customer": "cus_nobody", "status": "active"}))
    assert resp.status_code == 200 and resp.json()["outcome"] == "ignored"
    resp = post_event(client, make_event("charge.refunded", {"id": "ch_1"}))
    assert resp.status_code == 200 and resp.json()["outcome"] == "ignored"


def test_checkout_upgrade_payment_failure_cancellation_and_downgrade(client, tenant, other_tenant, stripe_env):
    url, stripe_client, _ = stripe_env
    assert status_of(client, tenant)["plan"] == "free"
    use_up_free_spans(tenant, leave=1)
    refused = ingest(client, tenant, 2)
    assert_error(refused, 429, "quota_exceeded")
    assert int(refused.headers["Retry-After"]) > 0 and "free" in refused.json()["error"]["message"]
    assert ingest(client, tenant, 1).status_code == 202  # what still fits is accepted

    resp = client.post("/api/v1/billing/checkout", json={"plan": "pro"}, headers=tenant.headers)
    assert resp.status_code == 201, resp.text
    checkout = resp.json()
    assert checkout["url"].startswith(url) and checkout["session_id"].startswith("cs_test_")
    # The customer pays on the Checkout page; Stripe then sends checkout.session.completed.
    httpx.post(f"{url}/_test/checkout/{checkout['session_id']}/complete", auth=(STRIPE_KEY, "")).raise_for_status()
    session = stripe_client.v1.checkout.sessions.retrieve(checkout["session_id"]).to_dict()
    completed = make_event("checkout.session.completed", session)
    resp = post_event(client, completed)
    assert resp.status_code == 200 and resp.json()["outcome"] == "applied", resp.text

    status = status_of(client, tenant)
    assert status["plan"] == "pro" and status["subscription"]["status"] == "active"
    assert status["subscription"]["id"] == session["subscription"]
    assert status["subscription"]["current_period_end"] is not None
    assert status["usage"]["spans"]["limit"] == PLANS["pro"].limits.spans_per_month
    assert status_of(client, other_tenant)["plan"] == "free"  # nobody else is upgraded
    assert ingest(client, tenant, 2).status_code == 202  # the higher limit is honoured

    # Redelivery of the same event is a no-op, even after the state moved on.
    failed = make_event("invoice.payment_failed", {"id": "in_1", "object": "invoice", "customer": session["customer"],
                                                   "subscription": session["subscription"]})
    assert post_event(client, failed).json()["outcome"] == "applied"
    assert status_of(client, tenant)["status"] == "past_due"
    assert status_of(client, tenant)["plan"] == "pro"  # paid plan held during payment retries
    again = post_event(client, completed)
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert status_of(client, tenant)["status"] == "past_due"

    paid = make_event("invoice.paid", {"id": "in_2", "object": "invoice", "customer": session["customer"]})
    assert post_event(client, paid).json()["outcome"] == "applied"
    assert status_of(client, tenant)["status"] == "active"

    # A second checkout while subscribed goes to the portal instead.
    assert_error(client.post("/api/v1/billing/checkout", json={"plan": "team"}, headers=tenant.headers),
                 409, "conflict")
    portal = client.get("/api/v1/billing/portal", headers=tenant.headers)
    assert portal.status_code == 200 and portal.json()["url"].startswith(url)

    # Cancellation in Stripe -> customer.subscription.deleted -> back to free.
    stripe_client.v1.subscriptions.cancel(session["subscription"])
    cancelled = stripe_client.v1.subscriptions.retrieve(session["subscription"]).to_dict()
    assert cancelled["status"] == "canceled"
    resp = post_event(client, make_event("customer.subscription.deleted", cancelled))
    assert resp.json()["outcome"] == "applied" and resp.json()["plan"] == "free"
    status = status_of(client, tenant)
    assert status["plan"] == "free" and status["subscription"]["status"] == "canceled"
    assert status["usage"]["spans"]["limit"] == PLANS["free"].limits.spans_per_month
    assert_error(ingest(client, tenant, 1), 429, "quota_exceeded")


def test_status_reports_usage_of_the_current_period(client, tenant, stack):
    from mao.adapters import usage
    from mao.domain.metrics_model import usage_key

    usage.add(tenant.tenant_id, {usage_key(period_of(datetime.now(UTC)), "spans"): 1234})
    status = status_of(client, tenant)
    assert status["usage"]["spans"]["used"] == 1234
    assert status["usage_period"]["period"] == period_of(datetime.now(UTC))
    assert_error(client.get("/api/v1/billing/status"), 401, "unauthorized")
