"""The F-code table matches the product's taxonomy (MAST order plus two grounding modes)."""

from __future__ import annotations

import importlib

import pytest

from mao.domain.detectors.registry import DETECTOR_MODULES
from mao.domain.taxonomy import BY_CODE, BY_MAST_ID, FAILURE_MODES, mode

# code, MAST id, name: as published in "Why Do Multi-Agent LLM Systems Fail?" (Cemri et al., 2025)
EXPECTED = [
    ("F1", "1.1", "Disobey task specification"),
    ("F2", "1.2", "Disobey role specification"),
    ("F3", "1.3", "Step repetition"),
    ("F4", "1.4", "Loss of conversation history"),
    ("F5", "1.5", "Unaware of termination conditions"),
    ("F6", "2.1", "Conversation reset"),
    ("F7", "2.2", "Fail to ask for clarification"),
    ("F8", "2.3", "Task derailment"),
    ("F9", "2.4", "Information withholding"),
    ("F10", "2.5", "Ignored other agent's input"),
    ("F11", "2.6", "Reasoning-action mismatch"),
    ("F12", "3.1", "Premature termination"),
    ("F13", "3.2", "No or incomplete verification"),
    ("F14", "3.3", "Incorrect verification"),
    ("F15", None, "Grounding failure"),
    ("F16", None, "Retrieval quality failure"),
]


def test_codes_mast_ids_and_names_match_the_published_taxonomy() -> None:
    assert [(m.code, m.mast_id, m.name) for m in FAILURE_MODES] == EXPECTED


def test_categories_follow_mast() -> None:
    cats = {m.code: m.category for m in FAILURE_MODES}
    assert {cats[f"F{i}"] for i in range(1, 6)} == {"specification"}
    assert {cats[f"F{i}"] for i in range(6, 12)} == {"inter-agent misalignment"}
    assert {cats[f"F{i}"] for i in range(12, 15)} == {"task verification"}
    assert {cats["F15"], cats["F16"]} == {"grounding"}


def test_lookups() -> None:
    assert BY_MAST_ID["2.6"].code == "F11"
    assert BY_CODE["F7"].name == "Fail to ask for clarification"
    assert len(BY_MAST_ID) == 14
    with pytest.raises(KeyError, match="unknown failure code"):
        mode("F17")


@pytest.mark.parametrize("module_name", DETECTOR_MODULES)
def test_registry_entry_uses_the_taxonomy(module_name: str) -> None:
    spec = importlib.import_module(f"mao.domain.detectors.{module_name}").SPEC
    assert spec.key == module_name
    if spec.f_code is not None:
        assert spec.f_code in BY_CODE
        assert spec.name == BY_CODE[spec.f_code].name


def test_every_f_code_has_exactly_one_detector() -> None:
    codes = [importlib.import_module(f"mao.domain.detectors.{m}").SPEC.f_code for m in DETECTOR_MODULES]
    f_codes = [c for c in codes if c is not None]
    assert sorted(f_codes, key=lambda c: int(c[1:])) == [m.code for m in FAILURE_MODES]
