"""The one way every HTTP function builds its app: FastAPI + MAO's middleware + error handlers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI

from mao.api.errors import ERROR_RESPONSES, install_error_handlers
from mao.api.middleware import MaoMiddleware, dynamo_rate_limiter

API_PREFIX = "/api/v1"


def create_app(title: str, routers: Sequence[APIRouter], *, max_body_bytes: int | None = None,
               body_limits: Mapping[str, int] | None = None, rate_limited: bool = True) -> FastAPI:
    app = FastAPI(title=f"MAO {title}", version="1.0.0", openapi_url=f"{API_PREFIX}/openapi/{_slug(title)}.json",
                  docs_url=None, redoc_url=None)
    for router in routers:
        app.include_router(router, responses=ERROR_RESPONSES)
    install_error_handlers(app)
    app.add_middleware(MaoMiddleware, max_body_bytes=max_body_bytes, body_limits=body_limits,
                       rate_limiter=dynamo_rate_limiter if rate_limited else None)
    return app


def lambda_handler(app: FastAPI) -> Any:
    from mangum import Mangum

    return Mangum(app, lifespan="off", api_gateway_base_path="/")


def _slug(title: str) -> str:
    return "-".join(title.lower().split())
