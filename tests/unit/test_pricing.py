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


def test_costs_agree_with_the_price_tables_own_calculation_including_tiers() -> None:
    """Our per-span arithmetic must bill exactly what the table's calc_price bills, around tier cliffs too."""
    from genai_prices import Usage

    from mao.domain import pricing

    tiered = []
    for info in pricing.list_models():
        matched = pricing._match(info.id, info.provider)
        assert matched is not None
        rates = pricing._rates(info.id, info.provider)
        if rates and (rates[0][1] or rates[1][1]):
            tiered.append(info)
    assert tiered, "the table should contain prompt-size tiered models"
    checked = 0
    for info in [*tiered[:8], *[m for m in pricing.list_models() if m.id in ("gpt-4o", "gpt-4o-mini")]]:
        prov, entry = pricing._match(info.id, info.provider)
        starts = sorted({s for rates in pricing._rates(info.id, info.provider) for s, _ in rates[1]}) or [1000]
        for n_in in (0, 1, starts[0], starts[0] + 1, starts[-1] * 2):
            for n_out in (0, 777):
                expected = float(entry.calc_price(Usage(input_tokens=n_in, output_tokens=n_out), prov).total_price)
                got = pricing.cost_usd(info.id, n_in, n_out, info.provider)
                assert got == pytest.approx(expected, rel=1e-9, abs=1e-12), (info.id, n_in, n_out)
                checked += 1
    assert checked >= 40
