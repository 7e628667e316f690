"""Import jobs: upload a JSON/JSONL file (up to 100 MB) for background import.

POST   /api/v1/import-jobs                      multipart/form-data (field ``file``; optional ``format``,
                                                ``force``, ``analyze``) -> 202 with the queued job; or JSON
                                                {"filename", "size", "sha256"?, "format"?, "force"?, "analyze"?}
                                                -> 202 with a pending job and a presigned upload
POST   /api/v1/import-jobs/{id}/start           after the presigned upload: check, hash and queue -> 202
GET    /api/v1/import-jobs                      newest first, paginated (optional ``status`` filter)
GET    /api/v1/import-jobs/{id}                 status, progress, timings
GET    /api/v1/import-jobs/{id}/results         summary and per-line errors (paginated)
DELETE /api/v1/import-jobs/{id}                 the job, its upload and its errors (created traces stay)

API Gateway caps request bodies (10 MB; 6 MB into Lambda), so multipart is for small files and the
presigned flow is the way for large ones. Over the limit -> 413; a file this tenant already imported
(same sha256) -> 409 unless ``force``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from mao.api.app_factory import create_app, lambda_handler
from mao.api.auth import Principal, require_tenant_caller
from mao.api.errors import ApiError
from mao.api.pagination import PageParams, page_params, paginate

router = APIRouter(prefix="/api/v1/import-jobs")
MULTIPART_OVERHEAD = 1024 * 1024
_FILE_CHUNK = 1024 * 1024


class UploadDeclaration(BaseModel):
    filename: str = Field(min_length=1, max_length=255)
    size: int = Field(ge=1, description="the file's size in bytes")
    sha256: str | None = Field(default=None, pattern="^[0-9a-fA-F]{64}$")
    format: str | None = Field(default=None, max_length=40, description="auto (default) or a format name")
    force: bool = False
    analyze: bool = True


def _problem(exc: Exception) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message, exc.details)  # type: ignore[attr-defined]


def _flag(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ApiError(422, "validation_error", f"not a boolean: {value!r}", [{"field": "force/analyze",
                                                                         "message": "use true or false"}])


def _read_file(upload: Any) -> Iterator[bytes]:
    handle = upload.file
    while chunk := handle.read(_FILE_CHUNK):
        yield chunk


@router.post("", status_code=202)
async def create(request: Request, format: str | None = Query(None, max_length=40),
                 force: bool | None = None, analyze: bool | None = None,
                 principal: Principal = Depends(require_tenant_caller)) -> dict[str, Any]:
    from mao.services import imports

    tenant_id = principal.tenant_id or ""
    media = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    try:
        if media == "multipart/form-data":
            form = await request.form(max_files=1, max_fields=20)
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise ApiError(422, "validation_error", "send the file in a multipart field named 'file'",
                               [{"field": "file", "message": "required"}])
            field_format = form.get("format")
            job = imports.create_from_stream(
                tenant_id, upload.filename, _read_file(upload),
                fmt=format or (field_format if isinstance(field_format, str) else None),
                force=force if force is not None else _flag(form.get("force"), False),
                analyze=analyze if analyze is not None else _flag(form.get("analyze"), True),
                content_type=upload.content_type or "application/octet-stream")
            return imports.job_view(job)
        if media in ("application/json", ""):
            try:
                raw = await request.json()
            except ValueError:
                raise ApiError(400, "invalid_json", "request body is not valid JSON") from None
            try:
                body = UploadDeclaration.model_validate(raw)
            except Exception as exc:  # pydantic's ValidationError
                details = [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
                           for e in getattr(exc, "errors", list)()]
                raise ApiError(422, "validation_error", "request failed validation", details) from None
            job, upload_info = imports.declare_upload(
                tenant_id, body.filename, body.size, sha256=body.sha256, fmt=format or body.format,
                force=body.force if force is None else force, analyze=body.analyze if analyze is None else analyze)
            return {**imports.job_view(job), "upload": upload_info,
                    "start_url": f"/api/v1/import-jobs/{job.job_id}/start"}
    except imports.ImportProblem as exc:
        raise _problem(exc) from None
    raise ApiError(415, "unsupported_media_type",
                   "send multipart/form-data with a 'file' field, or JSON declaring a presigned upload")


@router.post("/{import_job_id}/start", status_code=202)
async def start(import_job_id: str, force: bool | None = None,
                principal: Principal = Depends(require_tenant_caller)) -> dict[str, Any]:
    from mao.services import imports

    try:
        return imports.job_view(imports.start_upload(principal.tenant_id or "", import_job_id, force=force))
    except imports.ImportProblem as exc:
        raise _problem(exc) from None


@router.get("")
async def list_jobs(status: str | None = Query(None, pattern="^(pending|processing|completed|failed)$"),
                    params: PageParams = Depends(page_params),
                    principal: Principal = Depends(require_tenant_caller)) -> dict[str, Any]:
    from mao.adapters import imports as store
    from mao.services import imports

    tenant_id = principal.tenant_id or ""
    condition = store.ImportJobModel.status == status if status else None

    def query(limit: int | None, last_key: dict[str, Any] | None) -> Any:
        return store.ImportJobModel.query(tenant_id, filter_condition=condition, scan_index_forward=False,
                                          limit=limit, last_evaluated_key=last_key)

    def count() -> int:
        return sum(1 for _ in query(None, None)) if status else store.count_jobs(tenant_id)

    return paginate(query, params, imports.job_view, key_attributes=("tenant_id", "job_id"), count=count)


@router.get("/{import_job_id}")
async def get_job(import_job_id: str, principal: Principal = Depends(require_tenant_caller)) -> dict[str, Any]:
    from mao.services import imports

    try:
        return imports.job_view(imports.get_job(principal.tenant_id or "", import_job_id))
    except imports.ImportProblem as exc:
        raise _problem(exc) from None


@router.get("/{import_job_id}/results")
async def results(import_job_id: str, params: PageParams = Depends(page_params),
                  principal: Principal = Depends(require_tenant_caller)) -> dict[str, Any]:
    from mao.adapters import imports as store
    from mao.services import imports

    tenant_id = principal.tenant_id or ""
    try:
        job = imports.get_job(tenant_id, import_job_id)
    except imports.ImportProblem as exc:
        raise _problem(exc) from None
    errors = paginate(lambda limit, last: store.query_errors(tenant_id, import_job_id, limit, last), params,
                      imports.error_view, key_attributes=("scope", "item"), count=lambda: int(job.records_failed))
    view = imports.job_view(job)
    summary = {k: view[k] for k in ("status", "format", "container", "records_total", "records_processed",
                                    "records_failed", "traces_created", "conversations_created", "spans_imported",
                                    "detections_found", "duration_seconds", "records_per_second", "error")}
    summary["records_imported"] = view["records_processed"] - view["records_failed"]
    return {"id": import_job_id, "import_job_id": import_job_id, "summary": summary, "errors": errors}


@router.delete("/{import_job_id}")
async def delete(import_job_id: str, delete_created: bool = False,
                 principal: Principal = Depends(require_tenant_caller)) -> dict[str, Any]:
    """Remove the job, its upload and its errors; ``delete_created=true`` also removes the traces and
    conversations it created, with their detections."""
    from mao.services import imports

    try:
        return imports.delete_job(principal.tenant_id or "", import_job_id, delete_created)
    except imports.ImportProblem as exc:
        raise _problem(exc) from None


def _body_limit() -> int:
    from mao.services.imports import max_import_bytes

    return max_import_bytes() + MULTIPART_OVERHEAD


app = create_app("import jobs", [router], body_limits={r"^/api/v1/import-jobs$": _body_limit()})
handler = lambda_handler(app)
