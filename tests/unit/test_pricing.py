"""Prices come from the maintained table, matched exactly (or by dated alias), never by similarity."""

from __future__ import annotations

import re

import pytest

from mao.domain import pricing


def test_mini_model_is_never_priced_as_its_larger_sibling() -> None:
    mini = pricing.lookup("gpt-4o-mini")
    big = pricing.lookup("gpt-4o")
    assert mini is not None and big is not None
    assert mini.id == "gpt-4o-mini"
    assert big.id == "gpt-4o"
    assert mini.input_price_per_mtok < big.input_price_per_mtok
    assert pricing.cost_usd("gpt-4o-mini", 1_000_000, 0) == pytest.approx(mini.input_price_per_mtok)
    assert pricing.cost_usd("gpt-4o-mini", 1000, 1000) != pricing.cost_usd("gpt-4o", 1000, 1000)


def test_cost_is_input_plus_output_at_the_table_rates() -> None:
    info = pricing.lookup("gpt-4o")
    assert info is not None
    expected = (1200 * info.input_price_per_mtok + 300 * info.output_price_per_mtok) / 1e6
    assert pricing.cost_usd("gpt-4o", 1200, 300) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("ref", "expected_id"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("GPT-4o-mini", "gpt-4o-mini"),
        ("openai/gpt-4o-mini", "gpt-4o-mini"),
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
    ],
)
def test_aliases_dates_and_provider_prefixes_resolve(ref: str, expected_id: str) -> None:
    info = pricing.lookup(ref)
    assert info is not None
    assert info.id == expected_id


def test_region_prefixed_bedrock_ids_resolve_through_the_provider() -> None:
    info = pricing.lookup("us.anthropic.claude-3-5-sonnet-20240620-v1:0", provider="aws.bedrock")
    assert info is not None
    assert info.provider == "aws"
    assert "claude-3-5-sonnet-20240620" in info.id


@pytest.mark.parametrize("ref", ["gpt-4o-minix", "gpt-4o-mini-foo", "my-private-model", "gpt-4o-turbo-ultra"])
def test_unknown_or_merely_similar_models_have_unknown_cost(ref: str) -> None:
    assert pricing.lookup(ref) is None
    assert pricing.cost_usd(ref, 100, 100) is None


def test_unknown_tokens_or_missing_model_give_unknown_cost() -> None:
    assert pricing.cost_usd("gpt-4o", None, None) is None
    assert pricing.cost_usd(None, 10, 10) is None
    assert pricing.cost_usd("", 10, 10) is None
    assert pricing.cost_usd("gpt-4o", 0, 0) == 0.0


def test_unknown_model_error_lists_close_matches() -> None:
    with pytest.raises(pricing.UnknownModelError) as err:
        pricing.require("gpt-4o-minii")
    assert "gpt-4o-mini" in err.value.suggestions
    assert "gpt-4o-mini" in str(err.value)


def test_model_list_has_prices_context_windows_and_providers() -> None:
    models = pricing.list_models()
    assert len(models) > 500
    ids = {(m.provider, m.id) for m in models}
    assert ("openai", "gpt-4o-mini") in ids
    assert all(m.input_price_per_mtok is not None or m.output_price_per_mtok is not None for m in models)
    assert any(m.context_window for m in models)


def test_table_date_is_an_iso_date() -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", pricing.table_date())
