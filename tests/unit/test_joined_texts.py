"""Joined texts: a needle is found in exactly the texts that hold it, never across two texts."""

from __future__ import annotations

import random

import pytest

from mao.domain.joined_texts import SEP, JoinedTexts, NeedIndex, meets


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


def test_needs_are_met_when_every_group_has_a_word_present() -> None:
    needs = (("ignore", "disregard"), ("instructions", "rules"))
    assert meets(needs, {"disregard", "rules"})
    assert not meets(needs, {"ignore", "disregard"})
    assert meets((), set())


def test_need_index_finds_exactly_the_texts_meeting_the_needs() -> None:
    rng = random.Random(11)
    words = ["ignore", "the", "rules", "prior", "disregard", "text", "all instructions"]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 6))) for _ in range(400)]
    index = NeedIndex(JoinedTexts(texts))
    for needs in ((("ignore", "disregard"), ("rules",)), (("all instructions",),), (("absent",), ("the",)),
                  (("prior",), ("the", "text"), ("rules", "ignore")), ()):
        expected = {i for i, t in enumerate(texts) if all(any(w in t for w in group) for group in needs)}
        assert set(index.meeting(needs)) == expected, needs
    assert index.text(3) == texts[3]
