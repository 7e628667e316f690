"""Plans, Stripe Checkout and Customer Portal, billing status and the Stripe webhook.

GET  /api/v1/billing/plans             (public) plans with limits and prices
POST /api/v1/billing/checkout          a Checkout session for a paid plan
GET  /api/v1/billing/portal            a Customer Portal session
GET  /api/v1/billing/status            the tenant's plan, subscription, period and usage against limits
POST /api/v1/billing/webhooks/stripe   Stripe events (verified with the stripe-signature header)
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from mao.api.app_factory import create_app, lambda_handler
from mao.api.auth import Principal, require_tenant_caller
from mao.services import billing

router = APIRouter(prefix="/api/v1/billing")
_URL = r"^https?://\S+$"


class CheckoutRequest(BaseModel):
    plan: str = Field(min_length=1, max_length=40)
    success_url: str | None = Field(default=None, max_length=2000, pattern=_URL)
    cancel_url: str | None = Field(default=None, max_length=2000, pattern=_URL)


@router.get("/plans")
async def list_plans() -> dict[str, Any]:
    return billing.list_plans()


@router.post("/checkout", status_code=201)
async def checkout(body: CheckoutRequest, principal: Principal = Depends(require_tenant_caller)) -> dict[str, Any]:
    assert principal.tenant_id is not None
    return billing.create_checkout(principal.tenant_id, body.plan, body.success_url, body.cancel_url)


@router.get("/portal")
async def portal(return_url: str | None = Query(None, max_length=2000, pattern=_URL),
                 principal: Principal = Depends(require_tenant_caller)) -> dict[str, Any]:
    assert principal.tenant_id is not None
    return billing.create_portal(principal.tenant_id, return_url)


@router.get("/status")
async def status(principal: Principal = Depends(require_tenant_caller)) -> dict[str, Any]:
    assert principal.tenant_id is not None
    return billing.status(principal.tenant_id)


@router.post("/webhooks/stripe")
async def stripe_webhook(request: Request) -> dict[str, Any]:
    payload = await request.body()
    return billing.handle_webhook(payload, request.headers.get("stripe-signature"))


app = create_app("billing", [router], body_limits={"/api/v1/billing/webhooks/stripe": 512 * 1024})
handler = lambda_handler(app)
