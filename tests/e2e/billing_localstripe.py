"""A local Stripe for the billing tests: ``localstripe`` (customers, plans/prices, subscriptions,
payment methods) plus the two session APIs it lacks, Checkout Sessions and Customer Portal sessions.

Run as a script: ``python billing_localstripe.py --port N``. ``POST /_test/checkout/{id}/complete``
plays the customer paying on the Checkout page: it attaches a test card and creates the subscription,
as Stripe does when a Checkout session completes.
"""

from __future__ import annotations

import argparse
import secrets
import time
from typing import Any

from aiohttp import web
from localstripe import server
from localstripe.errors import UserError
from localstripe.resources import Customer, PaymentMethod, Plan, Subscription, store

store.dump_to_disk = lambda: None  # type: ignore[method-assign]  # keep all state in memory

_sessions: dict[str, dict[str, Any]] = {}
_base = {"url": ""}


async def _data(request: web.Request) -> dict[str, Any]:
    return await server.get_post_data(request) or {}


async def create_checkout_session(request: web.Request) -> web.Response:
    data = await _data(request)
    items = data.get("line_items") or []
    if data.get("mode") != "subscription" or len(items) != 1 or not data.get("success_url"):
        raise UserError(400, "Bad request")
    customer = data.get("customer")
    Customer._api_retrieve(customer)
    Plan._api_retrieve(items[0]["price"])
    sid = "cs_test_" + secrets.token_hex(12)
    session = {
        "id": sid, "object": "checkout.session", "mode": "subscription", "status": "open",
        "payment_status": "unpaid", "customer": customer, "client_reference_id": data.get("client_reference_id"),
        "metadata": data.get("metadata") or {}, "subscription": None, "created": int(time.time()),
        "success_url": data["success_url"], "cancel_url": data.get("cancel_url"),
        "url": f"{_base['url']}/pay/{sid}", "livemode": False,
        "_price": items[0]["price"],
        "_subscription_metadata": (data.get("subscription_data") or {}).get("metadata") or {},
    }
    _sessions[sid] = session
    return server.json_response(_public(session))


def _public(session: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in session.items() if not k.startswith("_")}


async def retrieve_checkout_session(request: web.Request) -> web.Response:
    session = _sessions.get(request.match_info["id"])
    if session is None:
        raise UserError(404, "No such checkout session")
    return server.json_response(_public(session))


async def complete_checkout_session(request: web.Request) -> web.Response:
    session = _sessions.get(request.match_info["id"])
    if session is None or session["status"] != "open":
        raise UserError(404, "No open checkout session")
    card = PaymentMethod._api_create(type="card", card={"number": "4242424242424242", "exp_month": "12",
                                                        "exp_year": "2030", "cvc": "123"})
    PaymentMethod._api_attach(card.id, customer=session["customer"])
    Customer._api_update(session["customer"], invoice_settings={"default_payment_method": card.id})
    sub = Subscription._api_create(customer=session["customer"], items=[{"plan": session["_price"]}],
                                   metadata=session["_subscription_metadata"])
    session.update(status="complete", payment_status="paid", subscription=sub.id)
    return server.json_response(_public(session))


async def create_portal_session(request: web.Request) -> web.Response:
    data = await _data(request)
    Customer._api_retrieve(data.get("customer"))
    sid = "bps_" + secrets.token_hex(12)
    return server.json_response({"id": sid, "object": "billing_portal.session", "customer": data["customer"],
                                 "return_url": data.get("return_url"), "url": f"{_base['url']}/portal/{sid}",
                                 "created": int(time.time()), "livemode": False})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    _base["url"] = f"http://127.0.0.1:{args.port}"
    app = server.app
    app.router.add_post("/v1/checkout/sessions", create_checkout_session)
    app.router.add_get("/v1/checkout/sessions/{id}", retrieve_checkout_session)
    app.router.add_post("/_test/checkout/{id}/complete", complete_checkout_session)
    app.router.add_post("/v1/billing_portal/sessions", create_portal_session)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
