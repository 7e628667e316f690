"""Import jobs: accept a JSON/JSONL file (streamed to S3, hashed on the way), queue it, and process
it in the background record by record, through the same write paths as live ingest.

Uploads. ``multipart/form-data`` through the API for smaller files, or for large ones a presigned
upload: the client declares the file (``filename``, ``size``, optional ``sha256``), PUTs (or POSTs) it
straight to S3, then calls ``POST /import-jobs/{id}/start``, which checks the object's size, hashes it
and queues the job. A file this tenant already imported (same sha256, job not failed) is refused
with a conflict unless forced.

Processing (the SQS-triggered worker). One job at a time holds a lease on the job item. The file is
read from its checkpoint (byte offset + line) with ranged GETs, in chunks of records: each chunk's
spans go through :func:`mao.services.ingest.store_spans` (idempotent on trace + span id), its
conversations through the conversation store under ids derived from the file hash and line (so a
replay stores nothing twice), its bad lines into per-line error items (keyed by line), and then the
checkpoint and the counters move forward in one conditional update. A worker that dies mid-chunk
leaves the checkpoint where it was; the redelivered message replays that chunk and counts it once.
Near the Lambda time limit the worker commits, queues a continuation and returns. After the last
record, detection runs over every trace and conversation the job created, itself checkpointed.

Configuration (environment, read at call time):
- ``MAO_IMPORT_MAX_BYTES``: largest file, default 100 MiB (413 above).
- ``MAO_IMPORT_CHUNK_RECORDS`` (default 200) / ``MAO_IMPORT_CHUNK_BYTES`` (default 4 MiB): a checkpoint
  after this many records or bytes.
- ``MAO_IMPORT_TIME_MARGIN_SECONDS`` (default 30): stop and continue in a new invocation when less
  than this is left; ``MAO_IMPORT_SLICE_SECONDS`` caps the work of one invocation (default: none).
- ``MAO_IMPORT_PRESIGN_SECONDS``: lifetime of presigned upload URLs, default 3600.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mao.adapters import imports as store
from mao.adapters.dynamo import utcnow
from mao.domain.imports import (
    Converted,
    FileStructureError,
    RawRecord,
    RecordError,
    UndetectableFormat,
    classify,
    convert,
    detect,
    iter_records,
    normalise_format,
)

log = logging.getLogger("mao.imports")

STATUSES = ("pending", "processing", "completed", "failed")
HEAD_BYTES = 1024 * 1024
ANALYZE_BATCH = 25


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def max_import_bytes() -> int:
    return _env_int("MAO_IMPORT_MAX_BYTES", 100 * 1024 * 1024)


def _chunk_records() -> int:
    return max(1, _env_int("MAO_IMPORT_CHUNK_RECORDS", 200))


def _chunk_bytes() -> int:
    return max(1024, _env_int("MAO_IMPORT_CHUNK_BYTES", 4 * 1024 * 1024))


def _time_margin_ms() -> int:
    return _env_int("MAO_IMPORT_TIME_MARGIN_SECONDS", 30) * 1000


def _slice_ms() -> int | None:
    raw = os.environ.get("MAO_IMPORT_SLICE_SECONDS")
    return int(float(raw) * 1000) if raw not in (None, "") else None


# --- errors the API maps onto statuses -----------------------------------------------------------


class ImportProblem(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class FileTooLarge(ImportProblem):
    status = 413
    code = "payload_too_large"


class DuplicateFile(ImportProblem):
    status = 409
    code = "duplicate_import"


class InvalidImport(ImportProblem):
    status = 422
    code = "validation_error"


class WrongState(ImportProblem):
    status = 409
    code = "conflict"


class JobNotFound(ImportProblem):
    status = 404
    code = "not_found"


# --- creating jobs -------------------------------------------------------------------------------


def _check_format(fmt: str | None) -> str | None:
    try:
        return normalise_format(fmt)
    except ValueError as exc:
        raise InvalidImport(str(exc), [{"field": "format", "message": str(exc)}]) from None


def _check_filename(filename: str | None) -> str:
    name = (filename or "").strip().replace("\\", "/").rsplit("/", 1)[-1]
    if not name or len(name) > 255:
        raise InvalidImport("a file name of 1-255 characters is required",
                            [{"field": "filename", "message": "required"}])
    return name


def _new_job(tenant_id: str, job_id: str, filename: str, fmt: str | None, mode: str, force: bool,
             analyze: bool) -> store.ImportJobModel:
    now = utcnow()
    return store.ImportJobModel(tenant_id, job_id, status="pending", filename=filename, requested_format=fmt,
                                format=fmt, upload_mode=mode, upload_key=store.upload_key(tenant_id, job_id),
                                force=force, analyze=analyze, created_at=now, updated_at=now)


def _holder_is_live(tenant_id: str, holder: str | None, job_id: str) -> bool:
    if holder is None or holder == job_id:
        return False
    job = store.get_job(tenant_id, holder)
    return job is not None and job.status != "failed"


def _claim(tenant_id: str, sha256: str, job_id: str, force: bool) -> None:
    """Mark the hash as this job's, or raise :class:`DuplicateFile` naming the job that has it."""
    holder = store.claim_hash(tenant_id, sha256, job_id, replace=force)
    if holder is None or holder == job_id:
        return
    if _holder_is_live(tenant_id, holder, job_id):
        raise DuplicateFile(f"this file was already imported by job {holder}; pass force=true to import it again",
                            {"import_job_id": holder, "sha256": sha256})
    store.claim_hash(tenant_id, sha256, job_id, replace=True)


def create_from_stream(tenant_id: str, filename: str | None, chunks: Iterable[bytes], *, fmt: str | None = None,
                       force: bool = False, analyze: bool = True,
                       content_type: str = "application/octet-stream") -> store.ImportJobModel:
    """Stream an uploaded file to S3 (hashing it), refuse it if too large or a duplicate, queue it."""
    name = _check_filename(filename)
    fmt = _check_format(fmt)
    limit = max_import_bytes()
    job_id = store.new_job_id()
    writer = store.UploadWriter(store.upload_key(tenant_id, job_id), content_type)
    try:
        for chunk in chunks:
            writer.write(chunk)
            if writer.size > limit:
                raise FileTooLarge(f"the file exceeds the import limit of {limit} bytes", {"limit_bytes": limit})
        if writer.size == 0:
            raise InvalidImport("the file is empty", [{"field": "file", "message": "empty"}])
    except BaseException:
        writer.abort()
        raise
    sha256 = writer.close()
    try:
        _claim(tenant_id, sha256, job_id, force)
    except DuplicateFile:
        store.delete_object(writer.key)
        raise
    job = _new_job(tenant_id, job_id, name, fmt, "multipart", force, analyze)
    job.uploaded = True
    job.size_bytes = writer.size
    job.sha256 = sha256
    store.put_new_job(job)
    _enqueue(job)
    return job


def declare_upload(tenant_id: str, filename: str | None, size: int, *, sha256: str | None = None,
                   fmt: str | None = None, force: bool = False, analyze: bool = True) -> tuple[store.ImportJobModel,
                                                                                                dict[str, Any]]:
    """A pending job and a presigned upload for a file of ``size`` bytes (see ``start_upload``)."""
    name = _check_filename(filename)
    fmt = _check_format(fmt)
    limit = max_import_bytes()
    if size > limit:
        raise FileTooLarge(f"a file of {size} bytes exceeds the import limit of {limit} bytes", {"limit_bytes": limit})
    if size <= 0:
        raise InvalidImport("size must be positive", [{"field": "size", "message": "must be > 0"}])
    if sha256 is not None:
        sha256 = sha256.lower()
        holder = None if force else store.hash_holder(tenant_id, sha256)
        if _holder_is_live(tenant_id, holder, ""):
            raise DuplicateFile(f"this file was already imported by job {holder}; pass force=true to import it again",
                                {"import_job_id": holder, "sha256": sha256})
    job = _new_job(tenant_id, store.new_job_id(), name, fmt, "presigned", force, analyze)
    job.size_bytes = size
    job.sha256 = sha256
    store.put_new_job(job)
    upload = store.presigned_upload(job.upload_key, size, _env_int("MAO_IMPORT_PRESIGN_SECONDS", 3600), limit)
    return job, upload


def start_upload(tenant_id: str, job_id: str, *, force: bool | None = None) -> store.ImportJobModel:
    """The presigned upload has landed: check its size, hash it, refuse duplicates, queue the job."""
    job = get_job(tenant_id, job_id)
    if job.uploaded:
        if job.status == "pending":
            return job  # already started; the worker will pick it up
        raise WrongState(f"import job {job_id} is already {job.status}")
    size = store.object_size(job.upload_key)
    if size is None:
        raise WrongState("the file has not been uploaded yet; PUT it to the upload URL first",
                         {"upload_key": job.upload_key})
    limit = max_import_bytes()
    if size > limit:
        store.delete_object(job.upload_key)
        _fail(job, f"the uploaded file has {size} bytes, more than the limit of {limit}")
        raise FileTooLarge(f"the uploaded file exceeds the import limit of {limit} bytes", {"limit_bytes": limit})
    import hashlib

    digest = hashlib.sha256()
    for chunk in store.iter_object(job.upload_key):
        digest.update(chunk)
    sha256 = digest.hexdigest()
    if job.sha256 and job.sha256 != sha256:
        raise InvalidImport("the uploaded file's sha256 differs from the declared one",
                            [{"field": "sha256", "message": f"declared {job.sha256}, uploaded {sha256}"}])
    forced = job.force if force is None else force
    _claim(tenant_id, sha256, job_id, forced)
    now = utcnow()
    store.update_job(job, [store.ImportJobModel.uploaded.set(True), store.ImportJobModel.sha256.set(sha256),
                           store.ImportJobModel.size_bytes.set(size), store.ImportJobModel.updated_at.set(now)])
    _enqueue(job)
    return job


def _enqueue(job: store.ImportJobModel) -> None:
    store.send_job({"v": 1, "tenant_id": job.tenant_id, "job_id": job.job_id})


# --- reading jobs --------------------------------------------------------------------------------


def get_job(tenant_id: str, job_id: str) -> store.ImportJobModel:
    job = store.get_job(tenant_id, job_id) if job_id.startswith("imp_") and len(job_id) < 64 else None
    if job is None:
        raise JobNotFound(f"import job {job_id!r} not found")
    return job


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def job_view(job: store.ImportJobModel) -> dict[str, Any]:
    processed = int(job.records_processed)
    bytes_done = int(job.offset) if job.phase == "parse" else int(job.size_bytes)
    end = job.completed_at or (utcnow() if job.status == "processing" else None)
    duration = (end - job.started_at).total_seconds() if end and job.started_at else None
    total = int(job.records_total) if job.records_total is not None else None
    return {
        "id": job.job_id,
        "import_job_id": job.job_id,
        "status": job.status,
        "filename": job.filename,
        "format": job.format,
        "requested_format": job.requested_format,
        "container": job.container,
        "size_bytes": int(job.size_bytes),
        "sha256": job.sha256,
        "upload_mode": job.upload_mode,
        "uploaded": bool(job.uploaded),
        "analyze": bool(job.analyze),
        "records_total": total,
        "records_processed": processed,
        "records_failed": int(job.records_failed),
        "traces_created": int(job.traces_created),
        "conversations_created": int(job.conversations_created),
        "spans_imported": int(job.spans_written),
        "detections_found": int(job.detections_found),
        "progress": {
            "phase": job.phase,
            "bytes_processed": bytes_done,
            "percent": round(100.0 * bytes_done / job.size_bytes, 1) if job.size_bytes else 0.0,
            "records_estimate": int(job.records_estimate) if job.records_estimate is not None else None,
            "sources_analyzed": int(job.sources_analyzed),
            "invocations": int(job.invocations),
            "checkpoints": int(job.checkpoints),
        },
        "error": job.error,
        "created_at": _iso(job.created_at),
        "updated_at": _iso(job.updated_at),
        "started_at": _iso(job.started_at),
        "completed_at": _iso(job.completed_at),
        "duration_seconds": round(duration, 3) if duration is not None else None,
        "records_per_second": round(processed / duration, 1) if duration else None,
    }


def error_view(item: store.ImportItemModel) -> dict[str, Any]:
    return {"line": int(item.line or 0), "reason": item.reason}


def delete_job(tenant_id: str, job_id: str, delete_created: bool = False) -> dict[str, Any]:
    """Remove the job, its upload, its error and source items and its hash claim. The traces and
    conversations it created stay, unless ``delete_created`` asks to remove them (with their
    detections) too."""
    job = get_job(tenant_id, job_id)
    if job.status == "processing" and job.lease_expires and job.lease_expires > time.time():
        raise WrongState(f"import job {job_id} is being processed; delete it when it has finished")
    created = _delete_created(tenant_id, job_id) if delete_created else None
    store.delete_object(job.upload_key)
    removed = store.delete_job_items(tenant_id, job_id)
    if job.sha256:
        store.release_hash(tenant_id, job.sha256, job_id)
    store.delete_job(job)
    out = {"id": job_id, "import_job_id": job_id, "deleted": True, "items_removed": removed,
           "traces_kept": int(job.traces_created), "conversations_kept": int(job.conversations_created)}
    if created is not None:
        out.update(traces_kept=0, conversations_kept=0, **created)
    return out


def _delete_created(tenant_id: str, job_id: str) -> dict[str, int]:
    """Remove every trace and conversation the job created, with their detections."""
    from mao.adapters import conversations, detections, traces

    counts = {"traces_deleted": 0, "conversations_deleted": 0, "detections_deleted": 0}
    last: dict[str, Any] | None = None
    while True:
        page = store.query_sources(tenant_id, job_id, 100, last)
        for item in page:
            kind, source_id = item.source_kind, item.source_id
            if not kind or not source_id:
                continue
            counts["detections_deleted"] += detections.delete_for_source(tenant_id, kind, source_id)
            if kind == "trace" and traces.delete_trace(tenant_id, source_id):
                counts["traces_deleted"] += 1
            elif kind == "conversation" and conversations.delete_conversation(tenant_id, source_id):
                counts["conversations_deleted"] += 1
        last = page.last_evaluated_key
        if not last:
            return counts


# --- the worker ----------------------------------------------------------------------------------


class LeaseLost(Exception):
    """Another invocation moved the job on; this one stops without writing."""


@dataclass(slots=True)
class ChunkOutcome:
    processed: int = 0
    failed: int = 0
    spans: int = 0
    traces_new: int = 0
    conversations_new: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def _fail(job: store.ImportJobModel, message: str) -> None:
    now = utcnow()
    store.update_job(job, [store.ImportJobModel.status.set("failed"), store.ImportJobModel.error.set(message[:2000]),
                           store.ImportJobModel.completed_at.set(now), store.ImportJobModel.updated_at.set(now),
                           store.ImportJobModel.lease_token.remove(), store.ImportJobModel.lease_expires.remove()])


def _acquire(job: store.ImportJobModel, token: str, seconds: float) -> bool:
    now = time.time()
    m = store.ImportJobModel
    actions = [m.lease_token.set(token), m.lease_expires.set(int(now + seconds) + 1), m.status.set("processing"),
               m.invocations.add(1), m.updated_at.set(utcnow())]
    if job.started_at is None:
        actions.append(m.started_at.set(utcnow()))
    condition = m.lease_expires.does_not_exist() | (m.lease_expires < int(now))
    return store.update_job(job, actions, condition & m.status.is_in("pending", "processing"))


def _release(job: store.ImportJobModel, token: str) -> None:
    m = store.ImportJobModel
    store.update_job(job, [m.lease_token.remove(), m.lease_expires.remove()], m.lease_token == token)


def conversation_id_for(job: store.ImportJobModel, line: int) -> str:
    """A conversation id fixed by the file's content and the record's line: a replay (or a forced
    re-import of the same file) finds the same conversation instead of storing another."""
    return f"imp-{(job.sha256 or job.job_id)[:20]}-L{line}"


def _store_conversation(tenant_id: str, job: store.ImportJobModel, rec: RawRecord, converted: Converted) -> str:
    from mao.domain.formats.conversations import ConversationFormatError
    from mao.services import conversations

    conv_id = conversation_id_for(job, rec.line)
    name = None
    if isinstance(converted.conversation, dict):
        raw_name = converted.conversation.get("name") or converted.conversation.get("id")
        name = str(raw_name)[:200] if raw_name not in (None, "") else None
    try:
        conversations.ingest(tenant_id, converted.conversation_format or "generic", converted.conversation,
                             conversation_id=conv_id, name=name or f"{job.filename}:{rec.line}")
    except ConversationFormatError as exc:
        raise RecordError(str(exc)) from None
    except conversations.ConversationConflict as exc:
        raise RecordError(str(exc)) from None
    return conv_id


def process_chunk(job: store.ImportJobModel, records: list[RawRecord], chunk_start_line: int) -> ChunkOutcome:
    """Import one chunk of records; idempotent, so a replay after a crash writes nothing twice."""
    from mao.services.ingest import store_spans

    out = ChunkOutcome(processed=len(records))
    spans = []
    sources: dict[tuple[str, str], int] = {}
    for rec in records:
        if rec.error is not None:
            out.errors.append((rec.line, rec.error))
            continue
        fmt = job.format or classify(rec.data)
        if fmt is None:
            out.errors.append((rec.line, "not a record of a known format"))
            continue
        try:
            converted = convert(fmt, rec.data)
            if converted.is_conversation:
                conv_id = _store_conversation(job.tenant_id, job, rec, converted)
                sources.setdefault(("conversation", conv_id), rec.line)
            else:
                for span in converted.spans:
                    sources.setdefault(("trace", span.trace_id), rec.line)
                spans.extend(converted.spans)
        except RecordError as exc:
            out.errors.append((rec.line, str(exc)))
    if spans:
        store_spans(job.tenant_id, spans)
    out.spans = len(spans)
    out.failed = len(out.errors)
    for kind, _ in store.register_sources(job.tenant_id, job.job_id, sources, chunk_start_line):
        if kind == "trace":
            out.traces_new += 1
        else:
            out.conversations_new += 1
    store.put_errors(job.tenant_id, job.job_id, out.errors)
    return out


def _commit(job: store.ImportJobModel, token: str, last: RawRecord, out: ChunkOutcome) -> None:
    m = store.ImportJobModel
    ok = store.update_job(job, [
        m.offset.set(last.end), m.line.set(last.next_line), m.records_processed.add(out.processed),
        m.records_failed.add(out.failed), m.traces_created.add(out.traces_new),
        m.conversations_created.add(out.conversations_new), m.spans_written.add(out.spans),
        m.checkpoints.add(1), m.updated_at.set(utcnow())],
        (m.lease_token == token) & (m.offset == int(job.offset)))
    if not ok:
        raise LeaseLost(job.job_id)
    job.offset, job.line = last.end, last.next_line


def _detect(job: store.ImportJobModel) -> None:
    size = int(job.size_bytes)
    head = store.read_range(job.upload_key, 0, min(HEAD_BYTES, size))
    found = detect(head, size <= HEAD_BYTES, job.requested_format)
    fmt = found.format if found.sampled or job.requested_format else None
    estimate = None
    if found.container == "jsonl" and found.sampled:
        lines = head.count(b"\n") or 1
        estimate = max(found.sampled, round(size * lines / max(1, len(head)))) if size > len(head) else None
    m = store.ImportJobModel
    actions = [m.container.set(found.container), m.updated_at.set(utcnow())]
    if fmt is not None:
        actions.append(m.format.set(fmt))
    if estimate is not None:
        actions.append(m.records_estimate.set(estimate))
    store.update_job(job, actions)
    job.container, job.format = found.container, fmt


def _chunks(records: Iterator[RawRecord]) -> Iterator[list[RawRecord]]:
    limit_n, limit_b = _chunk_records(), _chunk_bytes()
    batch: list[RawRecord] = []
    size = 0
    for rec in records:
        batch.append(rec)
        size += rec.size
        if len(batch) >= limit_n or size >= limit_b:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _parse_phase(job: store.ImportJobModel, token: str, out_of_time: Callable[[], bool]) -> bool:
    """Import records from the checkpoint on; True when the file is done, False to continue later."""
    offset, size = int(job.offset), int(job.size_bytes)
    chunks = store.iter_object(job.upload_key, offset, size) if offset < size else iter(())
    records = iter_records(job.container or "jsonl", chunks, offset, int(job.line))
    try:
        for batch in _chunks(records):
            start_line = int(job.line)
            outcome = process_chunk(job, batch, start_line)
            _commit(job, token, batch[-1], outcome)
            if out_of_time():
                return False
    except FileStructureError as exc:
        store.put_errors(job.tenant_id, job.job_id, [(exc.line, exc.reason)])
        m = store.ImportJobModel
        store.update_job(job, [m.records_failed.add(1)], m.lease_token == token)
        raise
    return True


def _analyze_phase(job: store.ImportJobModel, token: str, out_of_time: Callable[[], bool]) -> bool:
    try:
        from mao.services import analysis
    except ImportError:  # detection not deployed with this function
        return True
    m = store.ImportJobModel
    while True:
        start = json.loads(job.analyze_cursor) if job.analyze_cursor else None
        page = store.query_sources(job.tenant_id, job.job_id, ANALYZE_BATCH, start)
        items = list(page)
        found = 0
        for item in items:
            try:
                if item.source_kind == "trace":
                    result = analysis.analyze_trace(job.tenant_id, item.source_id)
                else:
                    result = analysis.analyze_conversation(job.tenant_id, item.source_id)
                count = len(result.detections)
            except analysis.SourceNotFound:
                count = 0
            store.set_source_detections(item, count)
            found += count
        cursor = json.dumps(page.last_evaluated_key) if page.last_evaluated_key else None
        ok = store.update_job(job, [m.analyze_cursor.set(cursor) if cursor else m.analyze_cursor.remove(),
                                    m.detections_found.add(found), m.sources_analyzed.add(len(items)),
                                    m.checkpoints.add(1), m.updated_at.set(utcnow())],
                              (m.lease_token == token) & (m.analyze_cursor == job.analyze_cursor
                                                          if job.analyze_cursor else m.analyze_cursor.does_not_exist()))
        if not ok:
            raise LeaseLost(job.job_id)
        job.analyze_cursor = cursor
        if cursor is None:
            return True
        if out_of_time():
            return False


def _finish(job: store.ImportJobModel, token: str) -> None:
    m = store.ImportJobModel
    now = utcnow()
    store.update_job(job, [m.status.set("completed"), m.phase.set("done"), m.completed_at.set(now),
                           m.updated_at.set(now), m.lease_token.remove(), m.lease_expires.remove()],
                     m.lease_token == token)


def handle_message(message: dict[str, Any], remaining_ms: Callable[[], int]) -> str:
    """Work on the job named by ``message`` until it is done or time runs short. Returns what
    happened: ``done``, ``continued``, ``skipped`` or ``failed``. Exceptions mean "retry this message"."""
    tenant_id, job_id = str(message.get("tenant_id") or ""), str(message.get("job_id") or "")
    job = store.get_job(tenant_id, job_id) if tenant_id and job_id else None
    if job is None or job.status in ("completed", "failed") or not job.uploaded:
        return "skipped"
    token = secrets.token_hex(8)
    started = time.monotonic()
    if not _acquire(job, token, remaining_ms() / 1000 + 5):
        return "skipped"  # another invocation holds the job; it continues or finishes it
    job.refresh(consistent_read=True)
    slice_ms = _slice_ms()
    margin = _time_margin_ms()

    def out_of_time() -> bool:
        used = (time.monotonic() - started) * 1000
        return remaining_ms() < margin or (slice_ms is not None and used >= slice_ms)

    try:
        if job.phase == "parse":
            if job.container is None:
                try:
                    _detect(job)
                except UndetectableFormat as exc:
                    _fail(job, f"format not recognised: {exc}")
                    return "failed"
            size = store.object_size(job.upload_key)
            if size is None:
                _fail(job, "the uploaded file is gone")
                return "failed"
            if size > max_import_bytes():
                _fail(job, f"the file has {size} bytes, more than the limit of {max_import_bytes()}")
                return "failed"
            try:
                done = _parse_phase(job, token, out_of_time)
            except FileStructureError as exc:
                _fail(job, f"the file's structure is broken at line {exc.line}: {exc.reason}; "
                           "records before it were imported")
                return "failed"
            if not done:
                return _continue(job, token)
            m = store.ImportJobModel
            job.refresh(consistent_read=True)
            next_phase = "analyze" if job.analyze else "done"
            store.update_job(job, [m.phase.set(next_phase), m.records_total.set(int(job.records_processed))],
                             m.lease_token == token)
            job.phase = next_phase
            if out_of_time() and next_phase == "analyze":
                return _continue(job, token)
        if job.phase == "analyze" and not _analyze_phase(job, token, out_of_time):
            return _continue(job, token)
        _finish(job, token)
        return "done"
    except LeaseLost:
        return "skipped"
    except BaseException:
        _release(job, token)  # let the redelivered message resume from the last checkpoint at once
        raise


def _continue(job: store.ImportJobModel, token: str) -> str:
    _release(job, token)
    _enqueue(job)
    return "continued"
