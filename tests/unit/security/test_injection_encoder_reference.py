"""The bundled encoder stage, run by the numpy encoder from its int8 weights, gives the logits that the
float model had when it was trained (``scripts/train_injection_encoder.py`` wrote them), and the bundled
zone and gate are usable settings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mao.domain.security import injection_model, injection_stage2

REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "injection_encoder_reference.json"


@pytest.fixture(scope="module")
def stage() -> injection_stage2.Stage2:
    injection_stage2.clear_cache()
    found = injection_stage2.load()
    if found is None:
        pytest.skip("no encoder stage is bundled")
    return found


def test_bundled_encoder_reproduces_the_trained_models_logits(stage: injection_stage2.Stage2) -> None:
    reference = json.loads(REFERENCE.read_text())
    encoder, head = injection_stage2._scorer()
    ids = [seq if len(seq) <= encoder.max_tokens else [*seq[:encoder.max_tokens - 1], seq[-1]]
           for seq in encoder.token_ids(reference["texts"])]
    ours = encoder.embed_ids(ids) @ head.weight + head.bias
    expected = np.array(reference["logits"])
    assert np.abs(ours - expected).max() < 0.25 + 0.05 * np.abs(expected).max()
    assert np.array_equal(ours > 0, expected > 0)


def test_bundled_settings_are_coherent(stage: injection_stage2.Stage2) -> None:
    assert 0.0 <= stage.low < stage.high <= 1.0
    assert 2 < stage.max_tokens <= injection_stage2._scorer()[0].max_tokens
    assert 0.0 < injection_model.load().threshold < 1.0
