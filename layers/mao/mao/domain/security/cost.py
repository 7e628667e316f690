"""Cost of a call from its text (or its token counts) and the maintained price table."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from mao.domain import pricing, tokens


@dataclass(frozen=True, slots=True)
class CostReport:
    model: str
    provider: str
    input_tokens: int
    output_tokens: int
    tokens_counted: bool  # True when counts were computed from the text rather than given
    approximate: bool  # counted with a stand-in tokenizer
    input_price_per_mtok: float | None
    output_price_per_mtok: float | None
    input_cost_usd: float
    output_cost_usd: float
    total_cost_usd: float
    price_table_date: str
    price_table_version: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def calculate_cost(model: str, text: str | None = None, output_text: str | None = None,
                   input_tokens: int | None = None, output_tokens: int | None = None,
                   provider: str | None = None) -> CostReport:
    """Input/output tokens and USD cost. Given token counts win over counting the texts.

    Raises :class:`pricing.UnknownModelError` (with close matches) for a model not in the table.
    """
    info = pricing.require(model, provider)
    counted = False
    approximate = False
    if input_tokens is None:
        count = tokens.count_tokens(text or "", model)
        input_tokens, counted, approximate = count.tokens, True, count.approximate
    if output_tokens is None:
        if output_text:
            count = tokens.count_tokens(output_text, model)
            output_tokens, counted, approximate = count.tokens, True, approximate or count.approximate
        else:
            output_tokens = 0
    input_cost = pricing.cost_usd(model, input_tokens, 0, provider) or 0.0
    total = pricing.cost_usd(model, input_tokens, output_tokens, provider)
    if total is None:
        raise pricing.UnknownModelError(model, pricing.close_matches(model))
    return CostReport(
        model=info.id,
        provider=info.provider,
        input_tokens=int(input_tokens),
        output_tokens=int(output_tokens),
        tokens_counted=counted,
        approximate=approximate,
        input_price_per_mtok=info.input_price_per_mtok,
        output_price_per_mtok=info.output_price_per_mtok,
        input_cost_usd=input_cost,
        output_cost_usd=max(0.0, total - input_cost),
        total_cost_usd=total,
        price_table_date=pricing.table_date(),
        price_table_version=pricing.table_version(),
    )


def supported_models() -> dict[str, Any]:
    """The ``GET /security/models`` body: every priced model with its context window and provider."""
    return {
        "price_table_date": pricing.table_date(),
        "price_table_version": pricing.table_version(),
        "models": [m.to_dict() for m in pricing.list_models()],
    }


__all__ = ["CostReport", "calculate_cost", "supported_models"]
