"""``mao import FILE``: upload a JSON/JSONL file as an import job and follow it with a progress bar.

Files up to ``--multipart-max`` (default 5 MiB) go through the API as multipart/form-data; larger
ones use the presigned flow: declare the file (name, size, sha256), PUT it straight to storage,
then start the job. The API is ``--api-url`` (or ``MAO_API_URL``, default http://localhost:8000) and
the credential ``--api-key`` (or ``MAO_API_KEY``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FORMATS = ("auto", "otlp", "langfuse", "langsmith", "who-when", "mast-data", "openai", "claude", "generic")
_CHUNK = 1024 * 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="JSON or JSONL file (up to 100 MB)")
    parser.add_argument("--format", default="auto", choices=FORMATS, help="record format (default: detect)")
    parser.add_argument("--force", action="store_true", help="import even if this file was imported before")
    parser.add_argument("--no-analyze", action="store_true", help="do not run detection on imported data")
    parser.add_argument("--api-url", default=os.environ.get("MAO_API_URL", "http://localhost:8000"))
    parser.add_argument("--api-key", default=os.environ.get("MAO_API_KEY"), help="tenant API key (or MAO_API_KEY)")
    parser.add_argument("--multipart-max", type=int, default=5 * 1024 * 1024,
                        help="largest file sent through the API; larger ones use a presigned upload")
    parser.add_argument("--no-wait", action="store_true", help="return once the job is queued")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between status checks")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            yield chunk


def _fail(resp: Any) -> int:
    try:
        err = resp.json().get("error", {})
        print(f"error {resp.status_code}: {err.get('message')}", file=sys.stderr)
        if err.get("details"):
            print(f"  details: {err['details']}", file=sys.stderr)
    except ValueError:
        print(f"error {resp.status_code}: {resp.text[:500]}", file=sys.stderr)
    return 1


def upload(client: Any, path: Path, args: argparse.Namespace) -> tuple[dict[str, Any] | None, Any]:
    """(the job, or None and the failed response)."""
    import httpx

    params = {"force": str(args.force).lower(), "analyze": str(not args.no_analyze).lower()}
    if args.format != "auto":
        params["format"] = args.format
    size = path.stat().st_size
    if size <= args.multipart_max:
        with path.open("rb") as fh:
            resp = client.post("/api/v1/import-jobs", params=params,
                               files={"file": (path.name, fh, "application/octet-stream")})
        return (resp.json(), resp) if resp.status_code == 202 else (None, resp)
    declaration = {"filename": path.name, "size": size, "sha256": _sha256(path), "force": args.force,
                   "analyze": not args.no_analyze}
    if args.format != "auto":
        declaration["format"] = args.format
    resp = client.post("/api/v1/import-jobs", json=declaration)
    if resp.status_code != 202:
        return None, resp
    job = resp.json()
    put = httpx.put(job["upload"]["url"], content=_file_chunks(path), headers=job["upload"]["headers"],
                    timeout=600)
    if put.status_code >= 300:
        return None, put
    resp = client.post(job["start_url"], params={"force": str(args.force).lower()})
    return (resp.json(), resp) if resp.status_code == 202 else (None, resp)


def follow(client: Any, job: dict[str, Any], poll: float, progress: bool) -> dict[str, Any]:
    from tqdm import tqdm

    bar = tqdm(total=job["size_bytes"], unit="B", unit_scale=True, desc="importing", file=sys.stderr,
               disable=not progress)
    try:
        while True:
            resp = client.get(f"/api/v1/import-jobs/{job['id']}")
            resp.raise_for_status()
            job = resp.json()
            bar.n = job["progress"]["bytes_processed"]
            bar.set_postfix(records=job["records_processed"], failed=job["records_failed"],
                            phase=job["progress"]["phase"], refresh=False)
            bar.refresh()
            if job["status"] in ("completed", "failed"):
                return job
            time.sleep(poll)
    finally:
        bar.close()


def run(args: argparse.Namespace) -> int:
    import httpx

    path: Path = args.file
    if not path.is_file():
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    if not args.api_key:
        print("an API key is required: --api-key or MAO_API_KEY", file=sys.stderr)
        return 2
    with httpx.Client(base_url=args.api_url.rstrip("/"), headers={"X-MAO-API-Key": args.api_key},
                      timeout=300) as client:
        job, resp = upload(client, path, args)
        if job is None:
            return _fail(resp)
        print(f"import job {job['id']} queued ({job['size_bytes']} bytes)", file=sys.stderr)
        if args.no_wait:
            print(job["id"])
            return 0
        job = follow(client, job, args.poll, not args.no_progress)
        errors = client.get(f"/api/v1/import-jobs/{job['id']}/results", params={"page_size": 10}).json()
    print(f"{job['status']}: format {job['format']}, {job['records_processed']} records "
          f"({job['records_failed']} failed), {job['traces_created']} traces, "
          f"{job['conversations_created']} conversations, {job['detections_found']} detections"
          + (f"; {job['error']}" if job.get("error") else ""))
    for err in errors.get("errors", {}).get("items", []):
        print(f"  line {err['line']}: {err['reason']}")
    return 0 if job["status"] == "completed" else 1
