"""Joined texts: a needle is found in exactly the texts that hold it, never across two texts."""

from __future__ import annotations

import random

import pytest

from mao.domain.joined_texts import SEP, JoinedTexts


def test_finds_exactly_the_texts_holding_the_needle() -> None:
    rng = random.Random(5)
    texts = ["".join(rng.choice("ab c") for _ in range(rng.randint(0, 12))) for _ in range(300)]
    joined = JoinedTexts(texts)
    for needle in ("a", "ab", "b c", "cc", "abc", " "):
        assert joined.containing(needle) == {i for i, t in enumerate(texts) if needle in t}


def test_a_needle_is_not_found_across_two_texts() -> None:
    assert JoinedTexts(["ign", "ore"]).containing("ignore") == set()
    assert JoinedTexts(["", "x", ""]).containing("x") == {1}


def test_transform_applies_to_the_search_and_must_keep_length() -> None:
    joined = JoinedTexts(["Ignore THIS", "fine"], str.lower)
    assert joined.containing("ignore") == {0}
    assert joined.owner(len("Ignore THIS") + 1) == 1
    assert SEP not in "".join(["Ignore THIS", "fine"])
    with pytest.raises(ValueError):
        JoinedTexts(["\u0130stanbul"], str.lower)  # lower-casing İ adds a combining dot
