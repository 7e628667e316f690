"""Context-window and cost checks for the security API."""

from __future__ import annotations

import pytest

from mao.domain import pricing
from mao.domain.security.cost import calculate_cost, supported_models
from mao.domain.security.overflow import check_overflow, severity_for


def test_short_text_uses_little_of_the_window() -> None:
    report = check_overflow("hello world", "gpt-4o")
    assert report.token_count == 2
    assert report.context_window == 128_000
    assert report.remaining_tokens == 128_000 - 2
    assert report.severity == "none" and not report.overflow
    assert report.approximate is False


def test_text_larger_than_the_window_overflows() -> None:
    report = check_overflow("word " * 9000, "gpt-4")  # gpt-4 has an 8,192-token window
    assert report.overflow
    assert report.severity == "critical"
    assert report.remaining_tokens < 0
    assert any("split" in s or "summarise" in s for s in report.suggestions)


def test_claude_counts_are_marked_approximate() -> None:
    report = check_overflow("hello world", "claude-3-5-sonnet-20241022")
    assert report.approximate
    assert any("approximation" in s for s in report.suggestions)


def test_unknown_model_raises_with_close_matches() -> None:
    with pytest.raises(pricing.UnknownModelError) as err:
        check_overflow("hi", "gpt-4o-minii")
    assert "gpt-4o-mini" in err.value.suggestions


@pytest.mark.parametrize(("percent", "severity"), [(10, "none"), (60, "low"), (80, "medium"), (95, "high"),
                                                   (120, "critical")])
def test_severity_bands(percent: float, severity: str) -> None:
    assert severity_for(percent) == severity


def test_cost_from_given_token_counts() -> None:
    info = pricing.lookup("gpt-4o-mini")
    assert info is not None
    report = calculate_cost("gpt-4o-mini", input_tokens=1_000_000, output_tokens=1_000_000)
    assert report.total_cost_usd == pytest.approx(info.input_price_per_mtok + info.output_price_per_mtok)
    assert report.input_cost_usd == pytest.approx(info.input_price_per_mtok)
    assert not report.tokens_counted
    assert report.price_table_date == pricing.table_date()


def test_cost_from_text_counts_the_tokens() -> None:
    report = calculate_cost("gpt-4o", text="hello world", output_text="hello world")
    assert report.tokens_counted
    assert (report.input_tokens, report.output_tokens) == (2, 2)
    assert report.total_cost_usd > 0


def test_cost_of_unknown_model_is_an_error_not_zero() -> None:
    with pytest.raises(pricing.UnknownModelError):
        calculate_cost("my-private-model", text="hello")


def test_model_list_body() -> None:
    body = supported_models()
    assert body["price_table_date"] and len(body["models"]) > 500
    assert {"id", "provider", "input_price_per_mtok", "output_price_per_mtok", "context_window"} <= set(
        body["models"][0])
