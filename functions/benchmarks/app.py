"""Detection accuracy, as measured by the evaluation harness.

GET /api/v1/benchmarks                      (public) the 16 failure modes with rates, samples and tier
GET /api/v1/diagnostics/detector-status     per-detector F1, precision, recall, samples, tier, readiness
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from mao.api.app_factory import create_app, lambda_handler
from mao.api.auth import Principal, authenticate
from mao.services import benchmarks

router = APIRouter(prefix="/api/v1")


@router.get("/benchmarks")
async def get_benchmarks() -> dict[str, Any]:
    return benchmarks.benchmarks()


@router.get("/diagnostics/detector-status")
async def detector_status(_: Principal = Depends(authenticate)) -> dict[str, Any]:
    return benchmarks.detector_status()


app = create_app("benchmarks", [router])
handler = lambda_handler(app)
