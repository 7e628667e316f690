"""Runtime configuration, read from the environment once per process.

Resource names come from ``template.yaml`` (the deploy sets them as environment variables; the local
runtime sets the same variables after creating the resources). AWS endpoints are never configured
here: boto3 and PynamoDB follow the standard ``AWS_ENDPOINT_URL`` variables, so the same code runs on
the embedded emulator, LocalStack or AWS.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _list(name: str, default: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in os.environ.get(name, default).split(",") if x.strip())


@dataclass(frozen=True, slots=True)
class Settings:
    stage: str = field(default_factory=lambda: os.environ.get("MAO_STAGE", "local"))
    region: str = field(default_factory=lambda: os.environ.get("AWS_REGION")
                        or os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    # Table names are read by the table models themselves (mao.adapters.dynamo.bound_model).
    tenants_table: str = field(default_factory=lambda: os.environ.get("MAO_TENANTS_TABLE", "mao-tenants"))
    # Queues and buckets
    ingest_queue_url: str = field(default_factory=lambda: os.environ.get("MAO_INGEST_QUEUE_URL", ""))
    import_queue_url: str = field(default_factory=lambda: os.environ.get("MAO_IMPORT_QUEUE_URL", ""))
    payload_bucket: str = field(default_factory=lambda: os.environ.get("MAO_PAYLOAD_BUCKET", "mao-payloads"))
    # Secrets: the operator key, the key-hash pepper and the JWT signing key
    operator_key: str = field(default_factory=lambda: os.environ.get("MAO_OPERATOR_KEY", ""))
    key_pepper: str = field(default_factory=lambda: os.environ.get("MAO_KEY_PEPPER", ""))
    jwt_secret: str = field(default_factory=lambda: os.environ.get("MAO_JWT_SECRET", ""))
    jwt_audience: str = field(default_factory=lambda: os.environ.get("MAO_JWT_AUDIENCE", "mao-api"))
    jwt_ttl_seconds: int = field(default_factory=lambda: _int("MAO_JWT_TTL_SECONDS", 900))
    # Rate limits (reference: 1000 / 60 s per IP, 10 / 60 s on auth endpoints)
    rate_limit_global: int = field(default_factory=lambda: _int("MAO_RATE_LIMIT_GLOBAL", 1000))
    rate_limit_auth: int = field(default_factory=lambda: _int("MAO_RATE_LIMIT_AUTH", 10))
    rate_limit_window_seconds: int = field(default_factory=lambda: _int("MAO_RATE_LIMIT_WINDOW", 60))
    # Request bodies: the default JSON body cap; routes with their own limit (ingest, imports) say so.
    max_body_bytes: int = field(default_factory=lambda: _int("MAO_MAX_BODY_BYTES", 1 * 1024 * 1024))
    cors_origins: tuple[str, ...] = field(default_factory=lambda: _list("MAO_CORS_ORIGINS", "*"))


@cache
def settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (tests and the local runtime change the environment)."""
    settings.cache_clear()
