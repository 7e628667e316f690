"""Objects in the payload bucket: raw ingest payloads (claim checks) and offloaded span values."""

from __future__ import annotations

from mao.adapters.aws import client
from mao.config import settings


def bucket() -> str:
    return settings().payload_bucket


def put_bytes(key: str, data: bytes, content_type: str = "application/octet-stream",
              metadata: dict[str, str] | None = None) -> str:
    """Store ``data`` under ``key``; returns the ``s3://bucket/key`` location."""
    client("s3").put_object(Bucket=bucket(), Key=key, Body=data, ContentType=content_type,
                            Metadata=metadata or {})
    return f"s3://{bucket()}/{key}"


def get_bytes(key: str) -> bytes:
    body = client("s3").get_object(Bucket=bucket(), Key=key)["Body"]
    try:
        return body.read()
    finally:
        body.close()


def key_of(location: str) -> str:
    """The object key of an ``s3://bucket/key`` location (or a bare key)."""
    if location.startswith("s3://"):
        return location[5:].split("/", 1)[1]
    return location
