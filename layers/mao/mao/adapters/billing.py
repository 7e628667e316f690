"""Billing state in DynamoDB and the Stripe client.

Per tenant one ``account`` row (Stripe customer and subscription, status, period, plan) and one
``event#<stripe event id>`` row per processed webhook event. An event is applied in one transaction
that also creates its marker row on condition that it does not exist yet, so a redelivered event
changes nothing, even when two deliveries race.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from mao.adapters.dynamo import TTLEpochAttribute, bound_model, region, utcnow
from mao.adapters.tenants import TenantModel

ACCOUNT = "account"
EVENT_RETENTION_SECONDS = 90 * 24 * 3600


class AccountsByCustomer(GlobalSecondaryIndex["BillingModel"]):
    class Meta:
        index_name = "by_customer"
        projection = AllProjection()

    stripe_customer_id = UnicodeAttribute(hash_key=True)


@bound_model("MAO_BILLING_TABLE", "mao-billing")
class BillingModel(Model):
    class Meta:
        table_name = "mao-billing"
        region = region()

    tenant_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    # account rows
    stripe_customer_id = UnicodeAttribute(null=True)
    stripe_subscription_id = UnicodeAttribute(null=True)
    subscribed_plan = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    plan = UnicodeAttribute(null=True)
    current_period_start = NumberAttribute(null=True)
    current_period_end = NumberAttribute(null=True)
    cancel_at_period_end = NumberAttribute(null=True)
    last_payment_failed_at = NumberAttribute(null=True)
    last_event_created = NumberAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    # event rows
    event_type = UnicodeAttribute(null=True)
    processed_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLEpochAttribute(null=True)
    by_customer = AccountsByCustomer()


def get_account(tenant_id: str) -> BillingModel | None:
    try:
        return BillingModel.get(tenant_id, ACCOUNT, consistent_read=True)
    except DoesNotExist:
        return None


def set_customer(tenant_id: str, customer_id: str) -> None:
    BillingModel(tenant_id, ACCOUNT).update(actions=[BillingModel.stripe_customer_id.set(customer_id),
                                                     BillingModel.updated_at.set(utcnow())])


def tenant_for_customer(customer_id: str) -> str | None:
    for row in BillingModel.by_customer.query(customer_id, limit=1):
        return row.tenant_id
    return None


def event_seen(tenant_id: str, event_id: str) -> bool:
    try:
        BillingModel.get(tenant_id, f"event#{event_id}", consistent_read=True)
        return True
    except DoesNotExist:
        return False


@dataclass(frozen=True, slots=True)
class AccountChange:
    """Fields of the account row to set (``None`` leaves a field as it is) and the tenant's new plan."""

    plan: str | None = None
    status: str | None = None
    subscribed_plan: str | None = None
    stripe_customer_id: str | None = None
    stripe_subscription_id: str | None = None
    current_period_start: int | None = None
    current_period_end: int | None = None
    cancel_at_period_end: bool | None = None
    last_payment_failed_at: int | None = None


def apply_event(tenant_id: str, event_id: str, event_type: str, created: int, change: AccountChange,
                now: datetime | None = None) -> bool:
    """Record the event and apply its change atomically; False when it was already processed."""
    now = now or utcnow()
    marker = BillingModel(tenant_id, f"event#{event_id}", event_type=event_type, processed_at=now,
                          expires_at=int(now.timestamp()) + EVENT_RETENTION_SECONDS)
    actions: list[Any] = [BillingModel.updated_at.set(now), BillingModel.last_event_created.set(created)]
    for name in ("plan", "status", "subscribed_plan", "stripe_customer_id", "stripe_subscription_id",
                 "current_period_start", "current_period_end", "last_payment_failed_at"):
        value = getattr(change, name)
        if value is not None:
            actions.append(getattr(BillingModel, name).set(value))
    if change.cancel_at_period_end is not None:
        actions.append(BillingModel.cancel_at_period_end.set(int(change.cancel_at_period_end)))
    account = BillingModel(tenant_id, ACCOUNT)
    # Out-of-order deliveries: an event older than the last one applied records its marker only.
    stale = (BillingModel.last_event_created.exists()) & (BillingModel.last_event_created > created)
    current = get_account(tenant_id)
    is_stale = current is not None and current.last_event_created is not None \
        and current.last_event_created > created
    try:
        with TransactWrite(connection=Connection(region=region())) as tx:
            tx.save(marker, condition=BillingModel.sk.does_not_exist())
            if not is_stale:
                tx.update(account, actions=actions, condition=~stale)
                if change.plan is not None:
                    tx.update(TenantModel(tenant_id), actions=[TenantModel.plan.set(change.plan)],
                              condition=TenantModel.tenant_id.exists())
    except TransactWriteError as exc:
        reasons = [getattr(r, "code", None) for r in (getattr(exc, "cancellation_reasons", None) or [])]
        if reasons and reasons[0] == "ConditionalCheckFailed":
            return False
        if event_seen(tenant_id, event_id):
            return False
        raise
    return True


# ------------------------------------------------------------------------------------------ Stripe
def stripe_client(api_key: str, api_base: str | None = None) -> Any:
    """A Stripe SDK client; ``api_base`` points it at another Stripe-compatible server."""
    import stripe

    kwargs: dict[str, Any] = {"max_network_retries": 2}
    if api_base:
        kwargs["base_addresses"] = {"api": api_base.rstrip("/")}
    return stripe.StripeClient(api_key, **kwargs)


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()
