"""Single-use webhook nonces per tenant (DynamoDB, TTL).

A nonce is claimed with a conditional put on ``<tenant>#<nonce>``; the claim succeeds when no live
claim exists. DynamoDB reaps expired items lazily (the emulator never does), so an expired claim is
treated as absent and overwritten.
"""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import PutError
from pynamodb.models import Model

from mao.adapters.dynamo import TTLEpochAttribute, bound_model, region


@bound_model("MAO_NONCES_TABLE", "mao-nonces")
class NonceModel(Model):
    class Meta:
        table_name = "mao-nonces"
        region = region()

    nonce_key = UnicodeAttribute(hash_key=True)
    expires_at = TTLEpochAttribute()


def claim(tenant_id: str, nonce: str, now: int, ttl_seconds: int) -> bool:
    """True when the nonce was unused (and is now used); False when it was seen within its TTL."""
    item = NonceModel(f"{tenant_id}#{nonce}", expires_at=now + ttl_seconds)
    try:
        item.save(condition=NonceModel.nonce_key.does_not_exist() | (NonceModel.expires_at <= now))
    except PutError as exc:
        if "ConditionalCheckFailed" in repr(exc) or getattr(exc, "cause_response_code", "") == \
                "ConditionalCheckFailedException":
            return False
        raise
    return True


def release(tenant_id: str, nonce: str) -> None:
    """Give a nonce back (the request it arrived with failed before anything was stored)."""
    NonceModel(f"{tenant_id}#{nonce}").delete()
