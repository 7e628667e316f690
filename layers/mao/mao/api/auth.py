"""Authentication: API keys (``X-MAO-API-Key`` or ``Authorization: Bearer mao_...``), short-lived JWTs
(``Authorization: Bearer <jwt>``) and the operator key.

A caller authenticated for tenant A asking for tenant B's path gets 404, exactly as if B did not
exist, so tenant ids cannot be probed.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Literal

from fastapi import Depends, Request

from mao.adapters import tenants
from mao.api.errors import ApiError
from mao.config import settings

PrincipalKind = Literal["api_key", "jwt", "operator"]
_ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class Principal:
    kind: PrincipalKind
    tenant_id: str | None
    key_prefix: str | None = None

    @property
    def is_operator(self) -> bool:
        return self.kind == "operator"


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def _jwt_secret() -> str:
    secret = settings().jwt_secret
    if len(secret) < 32:
        raise RuntimeError("MAO_JWT_SECRET must be configured (at least 32 characters)")
    return secret


def issue_token(record: tenants.ApiKeyModel, now: float | None = None) -> dict[str, object]:
    import jwt

    s = settings()
    iat = int(now if now is not None else time.time())
    exp = iat + s.jwt_ttl_seconds
    claims = {"sub": f"key:{record.prefix}", "tenant_id": record.tenant_id, "iat": iat, "exp": exp,
              "aud": s.jwt_audience, "iss": "mao"}
    token = jwt.encode(claims, _jwt_secret(), algorithm=_ALGORITHM)
    return {"access_token": token, "token_type": "bearer", "expires_in": s.jwt_ttl_seconds,
            "expires_at": exp, "tenant_id": record.tenant_id}


def _principal_from_jwt(token: str) -> Principal:
    import jwt

    try:
        claims = jwt.decode(token, _jwt_secret(), algorithms=[_ALGORITHM], audience=settings().jwt_audience,
                            options={"require": ["exp", "iat", "sub", "aud"]})
    except jwt.ExpiredSignatureError:
        raise _unauthorized("token expired") from None
    except jwt.InvalidTokenError:
        raise _unauthorized("invalid token") from None
    tenant_id = claims.get("tenant_id")
    sub = str(claims.get("sub", ""))
    if not isinstance(tenant_id, str) or not sub.startswith("key:"):
        raise _unauthorized("invalid token")
    prefix = sub[4:]
    # A token dies with the key it was exchanged for: revocation takes effect at once.
    if not tenants.key_is_active(prefix, tenant_id):
        raise _unauthorized("the API key behind this token was revoked")
    return Principal("jwt", tenant_id, prefix)


def _is_operator_key(cred: str) -> bool:
    operator = settings().operator_key
    return bool(operator) and hmac.compare_digest(cred.encode(), operator.encode())


def _principal_from_key(key: str) -> Principal:
    record = tenants.verify_key(key)
    if record is None:
        raise _unauthorized("invalid or revoked API key")
    return Principal("api_key", record.tenant_id, record.prefix)


def credentials_from(request: Request) -> str | None:
    key = request.headers.get("x-mao-api-key")
    if key:
        return key.strip()
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def authenticate(request: Request) -> Principal:
    """Any valid credential: an API key, a JWT or the operator key."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    cred = credentials_from(request)
    if not cred:
        raise _unauthorized("missing credentials: send X-MAO-API-Key or Authorization: Bearer")
    if len(cred) > 4096:
        raise _unauthorized("credential too long")
    if _is_operator_key(cred):
        principal = Principal("operator", None)
    elif cred.startswith(tenants.KEY_PREFIX):
        principal = _principal_from_key(cred)
    else:
        principal = _principal_from_jwt(cred)
    request.state.principal = principal
    return principal


async def require_tenant_caller(principal: Principal = Depends(authenticate)) -> Principal:
    """A tenant credential (API key or JWT) for routes whose tenant is implied, not in the path."""
    if principal.tenant_id is None:
        raise ApiError(403, "forbidden", "this endpoint needs a tenant API key or token, not the operator key")
    return principal


async def require_tenant(tenant_id: str, principal: Principal = Depends(authenticate)) -> Principal:
    """For ``/tenants/{tenant_id}/...`` routes: the caller must belong to that tenant, else 404."""
    if principal.tenant_id != tenant_id:
        raise ApiError(404, "not_found", f"tenant {tenant_id!r} not found")
    return principal


async def require_operator(principal: Principal = Depends(authenticate)) -> Principal:
    if not principal.is_operator:
        raise ApiError(403, "forbidden", "operator credentials required")
    return principal
