"""GET /health, GET /api/v1/health and GET /: unauthenticated, checks the stores for real."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from mao.adapters import health
from mao.api.app_factory import create_app, lambda_handler

router = APIRouter()

# What Redis does in the reference (rate limits, webhook nonces, stream events) is served here by
# DynamoDB tables with TTL, and queueing by SQS; there is no Redis to check.
REDIS_NOTE = "not used: rate limits, nonces and stream events are stored in DynamoDB (TTL); queues are SQS"


def _report() -> JSONResponse:
    database = health.check_database()
    queues = health.check_queues()
    storage = health.check_storage()
    if database != "ok":
        status, code = "unhealthy", 503
    elif queues != "ok" or storage != "ok":
        status, code = "degraded", 200
    else:
        status, code = "healthy", 200
    body = {"status": status, "database": database, "queues": queues, "storage": storage,
            "redis": REDIS_NOTE}
    return JSONResponse(body, status_code=code)


@router.get("/health")
async def health_root() -> JSONResponse:
    return _report()


@router.get("/api/v1/health")
async def health_v1() -> JSONResponse:
    return _report()


@router.get("/")
async def index() -> dict[str, str]:
    return {"service": "mao", "api": "/api/v1", "health": "/api/v1/health"}


app = create_app("health", [router])
handler = lambda_handler(app)
