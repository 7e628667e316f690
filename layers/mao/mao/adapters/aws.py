"""boto3 clients, created once per process. Endpoints come from ``AWS_ENDPOINT_URL`` (and the
per-service variants) as boto3 reads them, so there is nothing emulator-specific here."""

from __future__ import annotations

from functools import cache
from typing import Any

from mao.adapters.dynamo import region


@cache
def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(service, region_name=region(),
                        config=Config(retries={"max_attempts": 4, "mode": "standard"},
                                      connect_timeout=3, read_timeout=30))


def reset_clients() -> None:
    client.cache_clear()
