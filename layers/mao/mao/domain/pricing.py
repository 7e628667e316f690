"""Model prices and context windows from the maintained ``genai-prices`` table.

Matching is deliberately strict: a model reference is priced only when it equals a model id or one
of its aliases, or differs from one by a date/version suffix (``-2024-08-06``, ``-20241022``,
``@20240620``, ``-v1:0``, ``-latest``) or a cloud region prefix (``us.``, ``global.``). A reference
that is merely *similar* (``gpt-4o-mini`` vs ``gpt-4o``) is never priced as the other model: an
unknown model has an unknown cost (``None``), never 0 and never a neighbour's price.

Lookups are cached: they run once per ingested span.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

# Telemetry ``gen_ai.system`` / provider spellings -> genai-prices provider ids.
_PROVIDER_ALIASES: dict[str, str] = {
    "aws.bedrock": "aws",
    "bedrock": "aws",
    "amazon": "aws",
    "az.ai.inference": "azure",
    "az.ai.openai": "azure",
    "azure.openai": "azure",
    "azure_openai": "azure",
    "gcp.vertex_ai": "google",
    "gcp.gemini": "google",
    "gcp.gen_ai": "google",
    "vertex_ai": "google",
    "vertexai": "google",
    "gemini": "google",
    "x_ai": "x-ai",
    "xai": "x-ai",
    "mistral_ai": "mistral",
    "mistralai": "mistral",
    "moonshot": "moonshotai",
}

# What may follow a matched prefix without changing the model: dates, version tags, "latest".
_SAFE_SUFFIX = re.compile(
    r"(?:[-@:_.]?(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{3,4}|v\d+(?:[.:]\d+)*|latest|preview|exp))*(?::\d+)?"
)
# What may precede a matched infix: a cloud region / routing prefix such as ``us.`` or ``global.``.
_SAFE_PREFIX = re.compile(r"(?:[a-z][a-z-]{1,15}\.){0,2}")
_DATED_PHRASE = re.compile(
    r"(?:as of|checked[^.\"']{0,80}?on|verified[^.\"']{0,60}?|updated[^.\"']{0,30}?|retrieved[^.\"']{0,30}?)"
    r"\s(20\d{2}-[01]\d-[0-3]\d)"
)


class UnknownModelError(LookupError):
    """The model is not in the price table; ``suggestions`` lists close matches."""

    def __init__(self, model: str, suggestions: list[str]) -> None:
        hint = f"; close matches: {', '.join(suggestions)}" if suggestions else ""
        super().__init__(f"unknown model {model!r}{hint}")
        self.model = model
        self.suggestions = suggestions


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One priced model (USD per million tokens; ``None`` where the table has no price)."""

    id: str
    provider: str
    provider_name: str
    name: str | None
    input_price_per_mtok: float | None
    output_price_per_mtok: float | None
    context_window: int | None
    deprecated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------------------- table access
@cache
def _providers() -> list[Any]:
    from genai_prices.data import providers

    return list(providers)


@cache
def _provider_by_id() -> dict[str, Any]:
    return {p.id: p for p in _providers()}


def _resolve_provider(provider: str | None) -> Any | None:
    if not provider:
        return None
    key = provider.strip().lower()
    key = _PROVIDER_ALIASES.get(key, key)
    found = _provider_by_id().get(key)
    if found is not None:
        return found
    from genai_prices.data_snapshot import get_snapshot

    try:
        return get_snapshot().find_provider(None, key, None)
    except LookupError:
        return None


def _guess_provider(model_ref: str) -> Any | None:
    from genai_prices.data_snapshot import get_snapshot

    try:
        return get_snapshot().find_provider(model_ref, None, None)
    except LookupError:
        return None


# ------------------------------------------------------------------------------------ strict matching
def _clause_matches(clause: Any, ref: str) -> bool:
    kind = type(clause).__name__
    if kind == "ClauseEquals":
        return ref == clause.equals.lower()
    if kind == "ClauseOr":
        return any(_clause_matches(c, ref) for c in clause.or_)
    if kind == "ClauseAnd":
        return all(_clause_matches(c, ref) for c in clause.and_)
    if kind == "ClauseRegex":  # table regexes are anchored patterns for dated ids
        return re.search(clause.regex, ref) is not None
    if kind == "ClauseStartsWith":
        prefix = clause.starts_with.lower()
        if not ref.startswith(prefix):
            return False
        rest = ref[len(prefix):]
        # A prefix ending in a separator ("name@", "name.ft-") was written to take any suffix.
        return prefix.endswith(("@", ":", "/", "ft-")) or _SAFE_SUFFIX.fullmatch(rest) is not None
    if kind == "ClauseEndsWith":
        suffix = clause.ends_with.lower()
        return ref.endswith(suffix) and _SAFE_PREFIX.fullmatch(ref[: len(ref) - len(suffix)]) is not None
    if kind == "ClauseContains":
        infix = clause.contains.lower()
        at = ref.find(infix)
        if at < 0:
            return False
        return (_SAFE_PREFIX.fullmatch(ref[:at]) is not None
                and _SAFE_SUFFIX.fullmatch(ref[at + len(infix):]) is not None)
    return False


def _find_in_provider(provider: Any, ref: str, with_fallbacks: bool = True) -> Any | None:
    for model in provider.models:
        if model.id.lower() == ref:
            return model
    for model in provider.models:
        if _clause_matches(model.match, ref):
            return model
    if with_fallbacks and provider.fallback_model_providers:
        for pid in provider.fallback_model_providers:
            other = _provider_by_id().get(pid)
            if other is not None and (model := _find_in_provider(other, ref, with_fallbacks=False)):
                return model
    return None


def _candidate_refs(model: str) -> list[str]:
    ref = model.strip().lower()
    refs = [ref]
    if "/" in ref:  # "openai/gpt-4o", "models/gemini-2.0-flash"
        refs.append(ref.rsplit("/", 1)[1])
    compact = re.sub(r"-(20\d{2})(\d{2})(\d{2})$", r"-\1-\2-\3", refs[-1])
    if compact != refs[-1]:
        refs.append(compact)
    return refs


def _owner_of(model: Any) -> Any:
    for provider in _providers():
        if any(m is model for m in provider.models):
            return provider
    raise LookupError(model.id)  # pragma: no cover - every model belongs to a provider


@lru_cache(maxsize=4096)
def _match(model: str, provider: str | None) -> tuple[Any, Any] | None:
    """(provider, genai-prices model) for a reference, or None."""
    refs = _candidate_refs(model)
    explicit = _resolve_provider(provider)
    order: list[Any] = []
    if explicit is not None:
        order.append(explicit)
    if "/" in refs[0] and (hinted := _provider_by_id().get(refs[0].split("/", 1)[0])) is not None:
        order.append(hinted)
    guessed = _guess_provider(refs[-1])
    if guessed is not None:
        order.append(guessed)
    order.extend(_providers())
    seen: set[str] = set()
    for prov in order:
        if prov.id in seen:
            continue
        seen.add(prov.id)
        for ref in refs:
            found = _find_in_provider(prov, ref)
            if found is not None:
                return _owner_of(found), found
    return None


# --------------------------------------------------------------------------------------- public API
def _base_price(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, Decimal | int | float):
        return float(value)
    base = getattr(value, "base", None)  # TieredPrices
    return float(base) if base is not None else None


def _info(provider: Any, model: Any, at: datetime | None = None) -> ModelInfo:
    prices = model.get_prices(at or datetime.now(tz=UTC))
    return ModelInfo(
        id=model.id,
        provider=provider.id,
        provider_name=provider.name,
        name=model.name,
        input_price_per_mtok=_base_price(getattr(prices, "input_mtok", None)),
        output_price_per_mtok=_base_price(getattr(prices, "output_mtok", None)),
        context_window=model.context_window,
        deprecated=bool(model.deprecated),
    )


@lru_cache(maxsize=4096)
def lookup(model: str | None, provider: str | None = None) -> ModelInfo | None:
    """The table row for a model reference (exact, alias or dated variant), or None."""
    if not model or not model.strip():
        return None
    matched = _match(model, provider.strip().lower() if provider else None)
    if matched is None:
        return None
    return _info(*matched)


def require(model: str, provider: str | None = None) -> ModelInfo:
    """Like :func:`lookup` but raises :class:`UnknownModelError` with close matches."""
    info = lookup(model, provider)
    if info is None:
        raise UnknownModelError(model, close_matches(model))
    return info


def cost_usd(model: str | None, input_tokens: int | None, output_tokens: int | None,
             provider: str | None = None) -> float | None:
    """USD cost of one call; None when the model or the token counts are unknown."""
    if input_tokens is None and output_tokens is None:
        return None
    if not model:
        return None
    rates = _rates(model, provider.strip().lower() if provider else None)
    if rates is None:
        return None
    n_in, n_out = max(0, int(input_tokens or 0)), max(0, int(output_tokens or 0))
    input_rates, output_rates = rates
    return (n_in * _rate_for(input_rates, n_in) + n_out * _rate_for(output_rates, n_in)) / 1_000_000


# Per-million price of one direction: the base rate and the tiers ``(start, rate)`` above it. A tier
# applies to *all* tokens once the prompt exceeds its start (the table's "cliff" model, as the
# providers bill it), so the rate depends on the input token count only.
Rates = tuple[float, tuple[tuple[int, float], ...]]


def _rate_for(rates: Rates, n_input: int) -> float:
    base, tiers = rates
    for start, rate in reversed(tiers):
        if n_input > start:
            return rate
    return base


def _as_rates(value: Any) -> Rates:
    if value is None:
        return 0.0, ()
    if isinstance(value, Decimal):
        return float(value), ()
    tiers = tuple(sorted((int(t.start), float(t.price)) for t in value.tiers))
    return float(value.base), tiers


@lru_cache(maxsize=4096)
def _rates(model: str, provider: str | None) -> tuple[Rates, Rates] | None:
    """(input, output) per-million rates with their tiers, computed once per model; the per-call
    cost is then a few multiplications (it is paid for every ingested span)."""
    matched = _match(model, provider)
    if matched is None:
        return None
    prices = matched[1].get_prices(datetime.now(tz=UTC))
    p_in, p_out = getattr(prices, "input_mtok", None), getattr(prices, "output_mtok", None)
    if p_in is None and p_out is None:
        return None  # priced per request/second only: a token cost would be invented
    return _as_rates(p_in), _as_rates(p_out)


@cache
def list_models() -> list[ModelInfo]:
    """Every model in the table that has a per-token price, with its provider and context window."""
    rows = []
    for provider in _providers():
        for model in provider.models:
            info = _info(provider, model)
            if info.input_price_per_mtok is not None or info.output_price_per_mtok is not None:
                rows.append(info)
    return rows


@cache
def _known_refs() -> tuple[str, ...]:
    names: dict[str, None] = {}

    def collect(clause: Any) -> None:
        kind = type(clause).__name__
        if kind == "ClauseEquals":
            names.setdefault(clause.equals.lower(), None)
        for child in getattr(clause, "or_", None) or getattr(clause, "and_", None) or ():
            collect(child)

    for provider in _providers():
        for model in provider.models:
            names.setdefault(model.id.lower(), None)
            collect(model.match)
    return tuple(names)


def close_matches(model: str, n: int = 5) -> list[str]:
    """Known model ids/aliases that look like ``model`` (for "did you mean" errors)."""
    ref = (model or "").strip().lower()
    if not ref:
        return []
    return difflib.get_close_matches(ref, _known_refs(), n=n, cutoff=0.6)


@cache
def table_date() -> str:
    """Date of the price table: the newest "checked/as of/updated" date recorded in its comments.

    Falls back to the package version when the table records no such date.
    """
    dates: list[str] = []

    def scan(text: str | None) -> None:
        if text:
            dates.extend(_DATED_PHRASE.findall(text))

    for provider in _providers():
        scan(provider.price_comments)
        for model in provider.models:
            scan(model.price_comments)
    today = datetime.now(tz=UTC).date().isoformat()
    dates = [d for d in dates if d <= today]
    if dates:
        return max(dates)
    return f"genai-prices {table_version()}"


def table_version() -> str:
    from importlib.metadata import version

    return version("genai-prices")


__all__ = [
    "ModelInfo",
    "UnknownModelError",
    "close_matches",
    "cost_usd",
    "list_models",
    "lookup",
    "require",
    "table_date",
    "table_version",
]
