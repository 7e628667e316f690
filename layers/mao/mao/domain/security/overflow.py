"""Context-window check: how much of a model's window a text uses, and what to do about it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from mao.domain import pricing, tokens


class ContextWindowUnknownError(pricing.UnknownModelError):
    """The model is priced but the table records no context window for it."""

    def __init__(self, model: str, suggestions: list[str]) -> None:
        super().__init__(model, suggestions)
        self.args = (f"no context window recorded for model {model!r}",)


# (usage percent lower bound, severity), highest first.
SEVERITY_BANDS: tuple[tuple[float, str], ...] = (
    (100.0, "critical"),
    (90.0, "high"),
    (75.0, "medium"),
    (50.0, "low"),
    (0.0, "none"),
)


@dataclass(frozen=True, slots=True)
class OverflowReport:
    model: str
    provider: str
    token_count: int
    encoding: str
    approximate: bool
    context_window: int
    usage_percent: float
    remaining_tokens: int
    overflow: bool
    severity: str
    suggestions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def severity_for(usage_percent: float) -> str:
    for bound, name in SEVERITY_BANDS:
        if usage_percent >= bound:
            return name
    return "none"


def _suggestions(severity: str, remaining: int, approximate: bool) -> list[str]:
    tips: list[str] = []
    if severity == "critical":
        tips.append("The input does not fit: split it into chunks or summarise earlier turns before sending.")
    if severity in ("critical", "high"):
        tips.append("Trim or summarise conversation history and drop tool outputs the next step does not need.")
        tips.append("Retrieve only the most relevant passages instead of whole documents.")
    if severity in ("critical", "high", "medium"):
        tips.append(f"Reserve room for the answer: only {max(remaining, 0)} tokens remain for output.")
        tips.append("Consider a model with a larger context window.")
    if approximate:
        tips.append("Token count is an approximation (no offline tokenizer for this model); keep a margin.")
    return tips


def check_overflow(text: str, model: str, provider: str | None = None,
                   reserved_output_tokens: int = 0) -> OverflowReport:
    """Token usage of ``text`` against ``model``'s context window.

    Raises :class:`pricing.UnknownModelError` (with close matches) for a model not in the table.
    """
    info = pricing.require(model, provider)
    if not info.context_window:
        raise ContextWindowUnknownError(model, [m for m in pricing.close_matches(model)
                                                if (i := pricing.lookup(m)) and i.context_window])
    count = tokens.count_tokens(text or "", model)
    window = int(info.context_window)
    used = count.tokens + max(0, int(reserved_output_tokens))
    usage = 100.0 * used / window
    severity = severity_for(usage)
    remaining = window - used
    return OverflowReport(
        model=info.id,
        provider=info.provider,
        token_count=count.tokens,
        encoding=count.encoding,
        approximate=count.approximate,
        context_window=window,
        usage_percent=round(usage, 2),
        remaining_tokens=remaining,
        overflow=used > window,
        severity=severity,
        suggestions=_suggestions(severity, remaining, count.approximate),
    )


__all__ = ["SEVERITY_BANDS", "ContextWindowUnknownError", "OverflowReport", "check_overflow", "severity_for"]
