"""Webhook signatures: ``X-MAO-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{raw body}">``.

The timestamp must be within a tolerance window of the receiver's clock (both directions, so a
future-dated request cannot be stored up and replayed later); the nonce is checked for single use by
the caller, after the signature is known to be good (so unsigned junk cannot burn nonces).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

SCHEME = "sha256="
DEFAULT_TOLERANCE_SECONDS = 300
_NONCE = re.compile(r"^[A-Za-z0-9_\-.:]{8,128}$")


class SignatureError(ValueError):
    """Why a webhook was refused; the message is safe to return to the caller."""


@dataclass(frozen=True, slots=True)
class SignedHeaders:
    timestamp: str | None
    signature: str | None
    nonce: str | None


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def sign_headers(secret: str, body: bytes, timestamp: int, nonce: str) -> dict[str, str]:
    """The headers a sender adds (used by clients and tests)."""
    return {"X-MAO-Timestamp": str(timestamp), "X-MAO-Nonce": nonce,
            "X-MAO-Signature": signature(secret, timestamp, body)}


def check_freshness(headers: SignedHeaders, now: float, tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> int:
    """The timestamp as an int if it is present and within ``tolerance`` seconds of ``now``."""
    if not headers.timestamp:
        raise SignatureError("missing X-MAO-Timestamp header")
    raw = headers.timestamp.strip()
    if not raw.isdigit() or len(raw) > 12:
        raise SignatureError("X-MAO-Timestamp must be unix seconds")
    ts = int(raw)
    if abs(now - ts) > tolerance:
        raise SignatureError(f"X-MAO-Timestamp is outside the {tolerance} s tolerance window (stale or clock skew)")
    return ts


def check_nonce_format(headers: SignedHeaders) -> str:
    if not headers.nonce:
        raise SignatureError("missing X-MAO-Nonce header")
    nonce = headers.nonce.strip()
    if not _NONCE.match(nonce):
        raise SignatureError("X-MAO-Nonce must be 8-128 characters of letters, digits, '-', '_', '.', ':'")
    return nonce


def check_signature(headers: SignedHeaders, body: bytes, secrets: list[str]) -> None:
    """Constant-time comparison against each candidate secret (current, and a rotated-out one still
    in its grace period)."""
    if not headers.signature:
        raise SignatureError("missing X-MAO-Signature header")
    given = headers.signature.strip()
    if not given.startswith(SCHEME):
        raise SignatureError("X-MAO-Signature must be 'sha256=' followed by the hex HMAC")
    assert headers.timestamp is not None
    matched = False
    for secret in secrets:
        expected = signature(secret, headers.timestamp.strip(), body)
        matched |= hmac.compare_digest(expected.encode(), given.encode())
    if not matched:
        raise SignatureError("signature does not match the body and timestamp")


def verify(headers: SignedHeaders, body: bytes, secrets: list[str], now: float,
           tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> str:
    """Check timestamp, nonce format and signature; return the nonce, still to be claimed once."""
    check_freshness(headers, now, tolerance)
    nonce = check_nonce_format(headers)
    check_signature(headers, body, secrets)
    return nonce
