"""Import jobs in DynamoDB and their uploaded files in S3.

``ImportJobModel`` (tenant, job id): one item per job with its status, checkpoint (byte offset, line,
phase) and counters. ``ImportItemModel`` (``<tenant>#<job>``, item key): the job's per-line errors
(``err#<line>``) and the sources it created (``src#<kind>#<id>``, with the line that first produced
it and, after analysis, its detection count); content hashes live under ``<tenant>#sha`` so a
tenant's duplicate upload is found with one read. The tenant id leads every partition key and every
object key.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterator
from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.models import Model

from mao.adapters.aws import client
from mao.adapters.dynamo import bound_model, region
from mao.config import settings

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
MIN_PART_BYTES = 8 * 1024 * 1024  # S3 multipart parts must be at least 5 MiB (except the last)


def new_job_id(now_ms: int | None = None) -> str:
    """``imp_`` + 10 characters of milliseconds + 16 random characters: sorts by creation time."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    stamp = "".join(_CROCKFORD[(ms >> shift) & 31] for shift in range(45, -1, -5))
    rand = secrets.randbits(80)
    tail = "".join(_CROCKFORD[(rand >> shift) & 31] for shift in range(75, -1, -5))
    return f"imp_{stamp}{tail}"


@bound_model("MAO_IMPORT_JOBS_TABLE", "mao-import-jobs")
class ImportJobModel(Model):
    class Meta:
        table_name = "mao-import-jobs"
        region = region()

    tenant_id = UnicodeAttribute(hash_key=True)
    job_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute(default="pending")  # pending | processing | completed | failed
    filename = UnicodeAttribute()
    requested_format = UnicodeAttribute(null=True)
    format = UnicodeAttribute(null=True)
    container = UnicodeAttribute(null=True)
    upload_mode = UnicodeAttribute()  # multipart | presigned
    upload_key = UnicodeAttribute()
    uploaded = BooleanAttribute(default=False)
    size_bytes = NumberAttribute(default=0)
    sha256 = UnicodeAttribute(null=True)
    force = BooleanAttribute(default=False)
    analyze = BooleanAttribute(default=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute(null=True)
    completed_at = UTCDateTimeAttribute(null=True)
    records_total = NumberAttribute(null=True)
    records_estimate = NumberAttribute(null=True)
    records_processed = NumberAttribute(default=0)
    records_failed = NumberAttribute(default=0)
    traces_created = NumberAttribute(default=0)
    conversations_created = NumberAttribute(default=0)
    spans_written = NumberAttribute(default=0)
    detections_found = NumberAttribute(default=0)
    sources_analyzed = NumberAttribute(default=0)
    phase = UnicodeAttribute(default="parse")  # parse | analyze | done
    offset = NumberAttribute(default=0)
    line = NumberAttribute(default=1)
    analyze_cursor = UnicodeAttribute(null=True)
    checkpoints = NumberAttribute(default=0)
    invocations = NumberAttribute(default=0)
    lease_token = UnicodeAttribute(null=True)
    lease_expires = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)


@bound_model("MAO_IMPORT_ITEMS_TABLE", "mao-import-items")
class ImportItemModel(Model):
    class Meta:
        table_name = "mao-import-items"
        region = region()

    scope = UnicodeAttribute(hash_key=True)
    item = UnicodeAttribute(range_key=True)
    line = NumberAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    source_kind = UnicodeAttribute(null=True)
    source_id = UnicodeAttribute(null=True)
    detections = NumberAttribute(null=True)
    job_id = UnicodeAttribute(null=True)


def job_scope(tenant_id: str, job_id: str) -> str:
    return f"{tenant_id}#{job_id}"


def hash_scope(tenant_id: str) -> str:
    return f"{tenant_id}#sha"


def error_key(line: int) -> str:
    return f"err#{line:012d}"


def source_key(kind: str, source_id: str) -> str:
    return f"src#{kind}#{source_id}"


# --- jobs ----------------------------------------------------------------------------------------


def get_job(tenant_id: str, job_id: str) -> ImportJobModel | None:
    try:
        return ImportJobModel.get(tenant_id, job_id, consistent_read=True)
    except DoesNotExist:
        return None


def put_new_job(job: ImportJobModel) -> None:
    job.save(condition=ImportJobModel.job_id.does_not_exist())


def query_jobs(tenant_id: str, limit: int | None, last_key: dict[str, Any] | None) -> Any:
    return ImportJobModel.query(tenant_id, scan_index_forward=False, limit=limit, last_evaluated_key=last_key)


def count_jobs(tenant_id: str) -> int:
    return ImportJobModel.count(tenant_id)


def update_job(job: ImportJobModel, actions: list[Any], condition: Any = None) -> bool:
    """Apply ``actions``; False when ``condition`` does not hold (the job changed under us)."""
    try:
        job.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if "ConditionalCheckFailed" in repr(exc):
            return False
        raise
    return True


def delete_job(job: ImportJobModel) -> None:
    job.delete()


# --- errors, sources, hashes ---------------------------------------------------------------------


def put_errors(tenant_id: str, job_id: str, errors: list[tuple[int, str]]) -> None:
    """Per-line errors, keyed by line: writing the same line again replaces it (replays are safe)."""
    if not errors:
        return
    with ImportItemModel.batch_write() as batch:
        for line, reason in errors:
            batch.save(ImportItemModel(job_scope(tenant_id, job_id), error_key(line), line=line, reason=reason[:1000]))


def query_errors(tenant_id: str, job_id: str, limit: int | None, last_key: dict[str, Any] | None) -> Any:
    return ImportItemModel.query(job_scope(tenant_id, job_id), ImportItemModel.item.startswith("err#"),
                                 limit=limit, last_evaluated_key=last_key)


def register_sources(tenant_id: str, job_id: str, sources: dict[tuple[str, str], int],
                     chunk_start_line: int) -> list[tuple[str, str]]:
    """Record the sources (kind, id) -> first line seen in this chunk; returns those that are new to
    the job. A source first recorded by an earlier attempt at the same chunk (a line at or after
    ``chunk_start_line``) still counts as new, so a replayed chunk counts exactly what a clean run does."""
    if not sources:
        return []
    scope = job_scope(tenant_id, job_id)
    keys = {source_key(kind, ident): (kind, ident) for kind, ident in sources}
    existing: dict[str, int] = {}
    key_list = list(keys)
    for start in range(0, len(key_list), 100):
        for item in ImportItemModel.batch_get([(scope, k) for k in key_list[start:start + 100]]):
            existing[item.item] = int(item.line or 0)
    new: list[tuple[str, str]] = []
    with ImportItemModel.batch_write() as batch:
        for key, (kind, ident) in keys.items():
            first = existing.get(key)
            if first is None:
                batch.save(ImportItemModel(scope, key, line=sources[(kind, ident)], source_kind=kind, source_id=ident))
                new.append((kind, ident))
            elif first >= chunk_start_line:
                new.append((kind, ident))
    return new


def query_sources(tenant_id: str, job_id: str, limit: int | None, last_key: dict[str, Any] | None) -> Any:
    return ImportItemModel.query(job_scope(tenant_id, job_id), ImportItemModel.item.startswith("src#"),
                                 limit=limit, last_evaluated_key=last_key)


def set_source_detections(item: ImportItemModel, count: int) -> None:
    item.update(actions=[ImportItemModel.detections.set(count)])


def claim_hash(tenant_id: str, sha256: str, job_id: str, replace: bool) -> str | None:
    """Record ``sha256`` as imported by ``job_id``; returns the job already holding it (and leaves it)
    unless ``replace``."""
    record = ImportItemModel(hash_scope(tenant_id), sha256, job_id=job_id)
    if replace:
        record.save()
        return None
    try:
        record.save(condition=ImportItemModel.item.does_not_exist())
        return None
    except PutError as exc:
        if "ConditionalCheckFailed" not in repr(exc):
            raise
    try:
        holder = ImportItemModel.get(hash_scope(tenant_id), sha256, consistent_read=True)
    except DoesNotExist:
        return claim_hash(tenant_id, sha256, job_id, replace)
    return holder.job_id


def hash_holder(tenant_id: str, sha256: str) -> str | None:
    """The job that imported a file with this hash, if any."""
    try:
        return ImportItemModel.get(hash_scope(tenant_id), sha256, consistent_read=True).job_id
    except DoesNotExist:
        return None


def release_hash(tenant_id: str, sha256: str, job_id: str) -> None:
    """Forget the hash if ``job_id`` holds it."""
    try:
        ImportItemModel(hash_scope(tenant_id), sha256).delete(condition=ImportItemModel.job_id == job_id)
    except Exception as exc:
        if "ConditionalCheckFailed" not in repr(exc):
            raise


def delete_job_items(tenant_id: str, job_id: str) -> int:
    scope = job_scope(tenant_id, job_id)
    n = 0
    with ImportItemModel.batch_write() as batch:
        for item in ImportItemModel.query(scope, attributes_to_get=["scope", "item"]):
            batch.delete(item)
            n += 1
    return n


# --- the uploaded file ---------------------------------------------------------------------------


def _bucket() -> str:
    return settings().payload_bucket


def upload_key(tenant_id: str, job_id: str) -> str:
    return f"imports/{tenant_id}/{job_id}/upload"


class UploadWriter:
    """Stream bytes into one S3 object (multipart above one part), hashing as they pass."""

    def __init__(self, key: str, content_type: str = "application/octet-stream") -> None:
        self.key = key
        self.content_type = content_type
        self.size = 0
        self.sha = hashlib.sha256()
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        self.sha.update(data)
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= MIN_PART_BYTES:
            self._flush_part()

    def _flush_part(self) -> None:
        s3 = client("s3")
        if self._upload_id is None:
            self._upload_id = s3.create_multipart_upload(Bucket=_bucket(), Key=self.key,
                                                         ContentType=self.content_type)["UploadId"]
        body = b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        number = len(self._parts) + 1
        etag = s3.upload_part(Bucket=_bucket(), Key=self.key, UploadId=self._upload_id, PartNumber=number,
                              Body=body)["ETag"]
        self._parts.append({"ETag": etag, "PartNumber": number})

    def close(self) -> str:
        """Finish the object; returns the hex sha256 of everything written."""
        s3 = client("s3")
        if self._upload_id is None:
            s3.put_object(Bucket=_bucket(), Key=self.key, Body=b"".join(self._pending), ContentType=self.content_type)
        else:
            if self._pending:
                self._flush_part()
            s3.complete_multipart_upload(Bucket=_bucket(), Key=self.key, UploadId=self._upload_id,
                                         MultipartUpload={"Parts": self._parts})
        self._pending = []
        return self.sha.hexdigest()

    def abort(self) -> None:
        if self._upload_id is not None:
            client("s3").abort_multipart_upload(Bucket=_bucket(), Key=self.key, UploadId=self._upload_id)
        self._pending = []


def presigned_upload(key: str, size: int, expires: int, max_bytes: int) -> dict[str, Any]:
    s3 = client("s3")
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": _bucket(), "Key": key,
                                                              "ContentLength": size}, ExpiresIn=expires)
    post = s3.generate_presigned_post(_bucket(), key, Conditions=[["content-length-range", 1, max_bytes]],
                                      ExpiresIn=expires)
    return {"method": "PUT", "url": put_url, "headers": {"Content-Length": str(size)}, "expires_in": expires,
            "post": {"url": post["url"], "fields": post["fields"]}}


def object_size(key: str) -> int | None:
    try:
        return int(client("s3").head_object(Bucket=_bucket(), Key=key)["ContentLength"])
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def iter_object(key: str, start: int = 0, end: int | None = None, chunk_bytes: int = 1024 * 1024) -> Iterator[bytes]:
    """The object's bytes from ``start`` (to ``end``, exclusive) in chunks; never the whole object."""
    if end is not None and end <= start:
        return
    rng = f"bytes={start}-" + (str(end - 1) if end is not None else "")
    body = client("s3").get_object(Bucket=_bucket(), Key=key, Range=rng)["Body"]
    try:
        yield from body.iter_chunks(chunk_bytes)
    finally:
        body.close()


def read_range(key: str, start: int, length: int) -> bytes:
    return b"".join(iter_object(key, start, start + length))


def delete_object(key: str) -> None:
    client("s3").delete_object(Bucket=_bucket(), Key=key)


# --- the queue -----------------------------------------------------------------------------------


def send_job(message: dict[str, Any]) -> str:
    """Queue one import-job message; returns the SQS message id."""
    import json

    url = settings().import_queue_url
    if not url:
        raise RuntimeError("MAO_IMPORT_QUEUE_URL is not configured")
    return str(client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps(message))["MessageId"])
