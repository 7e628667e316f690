"""PynamoDB plumbing shared by every table model.

Table names come from the environment (``mao.config``); the endpoint comes from the standard
``AWS_ENDPOINT_URL`` variables, which botocore (and so PynamoDB) honours.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from pynamodb.attributes import NumberAttribute
from pynamodb.models import Model

# model class -> (environment variable with its table name, default name)
_TABLES: dict[type[Model], tuple[str, str]] = {}


def table(env_var: str, default: str) -> str:
    """The table name for a model's Meta, from the environment (see ``bound_model``)."""
    return os.environ.get(env_var, default)


def bound_model(env_var: str, default: str):
    """Register a model so ``rebind_tables`` can point it at the table named in the environment."""

    def wrap(cls: type[Model]) -> type[Model]:
        _TABLES[cls] = (env_var, default)
        cls.Meta.table_name = table(env_var, default)
        return cls

    return wrap


def rebind_tables() -> None:
    """Re-read table names and endpoints from the environment (the local runtime and tests change
    them after models were imported)."""
    for cls, (env_var, default) in _TABLES.items():
        cls.Meta.table_name = table(env_var, default)
        cls.Meta.region = region()
        cls._connection = None


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def utcnow() -> datetime:
    return datetime.now(UTC)


def epoch_now() -> int:
    return int(utcnow().timestamp())


class TTLEpochAttribute(NumberAttribute):
    """Unix-seconds expiry used as the table's TTL attribute.

    DynamoDB deletes expired items lazily (and the emulator never does), so readers must also
    compare against the current time: see ``is_live``.
    """


def sortable_id(prefix: str, now: float | None = None) -> str:
    """A time-sortable id: ``<prefix>_`` + 12 hex digits of epoch milliseconds + 10 random hex digits.
    Newest-first listings sort on it without a separate timestamp key."""
    import secrets

    ms = int((now if now is not None else utcnow().timestamp()) * 1000)
    return f"{prefix}_{ms:012x}{secrets.token_hex(5)}"


def is_live(expires_at: int | float | None, now: int | None = None) -> bool:
    return expires_at is None or expires_at > (now if now is not None else epoch_now())
