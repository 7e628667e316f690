"""Security and cost checks: prompt injection, hallucination (grounding), context overflow, cost, models.

POST /api/v1/security/injection/check       {"text", "context"?}
POST /api/v1/security/hallucination/check   {"output", "sources": [...]}
POST /api/v1/security/overflow/check        {"text", "model", "provider"?, "reserved_output_tokens"?}
POST /api/v1/security/cost/calculate        {"text"?, "model", "output_text"?, "input_tokens"?, "output_tokens"?}
GET  /api/v1/security/models
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, model_validator

from mao.api.app_factory import create_app, lambda_handler
from mao.api.auth import Principal, authenticate
from mao.api.errors import ApiError

router = APIRouter(prefix="/api/v1/security")

MAX_TEXT = 8 * 1024 * 1024  # characters; the body limit below bounds bytes
InjectionContext = Literal["user_input", "tool_output", "retrieved_content", "agent_message", "system_prompt"]


class InjectionCheck(BaseModel):
    text: str = Field(max_length=200_000)
    context: InjectionContext | None = None


class HallucinationCheck(BaseModel):
    output: str = Field(max_length=200_000)
    sources: list[str] = Field(max_length=200)

    @model_validator(mode="after")
    def _bounded(self) -> HallucinationCheck:
        if sum(len(s) for s in self.sources) > 2_000_000:
            raise ValueError("sources exceed 2,000,000 characters in total")
        return self


class OverflowCheck(BaseModel):
    text: str = Field(max_length=MAX_TEXT)
    model: str = Field(min_length=1, max_length=200)
    provider: str | None = Field(default=None, max_length=100)
    reserved_output_tokens: int = Field(default=0, ge=0, le=10_000_000)


class CostCalculate(BaseModel):
    model: str = Field(min_length=1, max_length=200)
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    output_text: str | None = Field(default=None, max_length=MAX_TEXT)
    input_tokens: int | None = Field(default=None, ge=0, le=100_000_000)
    output_tokens: int | None = Field(default=None, ge=0, le=100_000_000)
    provider: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _something_to_price(self) -> CostCalculate:
        if self.text is None and self.input_tokens is None:
            raise ValueError("give the input as text or as input_tokens")
        return self


def _unknown_model(exc: Exception) -> ApiError:
    model = getattr(exc, "model", None)
    suggestions = getattr(exc, "suggestions", [])
    return ApiError(422, "unknown_model", str(exc),
                    [{"field": "body.model", "message": f"model {model!r} is not in the price table",
                      "close_matches": suggestions}])


@router.post("/injection/check")
async def injection_check(body: InjectionCheck, _: Principal = Depends(authenticate)) -> dict[str, Any]:
    from mao.domain.security import injection

    return injection.check(body.text, body.context).to_dict()


@router.post("/hallucination/check")
async def hallucination_check(body: HallucinationCheck, _: Principal = Depends(authenticate)) -> dict[str, Any]:
    from mao.domain.security import grounding

    return grounding.check_grounding(body.output, body.sources).to_dict()


@router.post("/overflow/check")
async def overflow_check(body: OverflowCheck, _: Principal = Depends(authenticate)) -> dict[str, Any]:
    from mao.domain import pricing
    from mao.domain.security import overflow

    try:
        return overflow.check_overflow(body.text, body.model, body.provider, body.reserved_output_tokens).to_dict()
    except pricing.UnknownModelError as exc:
        raise _unknown_model(exc) from None


@router.post("/cost/calculate")
async def cost_calculate(body: CostCalculate, _: Principal = Depends(authenticate)) -> dict[str, Any]:
    from mao.domain import pricing
    from mao.domain.security import cost

    try:
        return cost.calculate_cost(body.model, body.text, body.output_text, body.input_tokens, body.output_tokens,
                                   body.provider).to_dict()
    except pricing.UnknownModelError as exc:
        raise _unknown_model(exc) from None


@router.get("/models")
async def models(_: Principal = Depends(authenticate)) -> dict[str, Any]:
    from mao.domain.security import cost

    return cost.supported_models()


app = create_app("security", [router], body_limits={r"/security/(overflow/check|cost/calculate)$": 32 * 1024 * 1024})
handler = lambda_handler(app)
