"""Run-time scorer of the bundled prompt-injection model (logistic regression on hashed features).

Pure Python: the weights are int8-quantised into ``injection_weights.bin.gz`` next to this module,
with the bias, the de-quantisation scale and the decision threshold in ``injection_model.json``.
Both are produced by ``scripts/train_injection_model.py``; nothing is fetched at run time. When a
second stage is bundled, texts in its zone get a second look from :mod:`injection_stage2`
(see :func:`final_scores`).
"""

from __future__ import annotations

import gzip
import json
import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from mao.domain.security import injection_stage2
from mao.domain.security.features import N_BUCKETS, hashed

WEIGHTS_FILE = "injection_weights.bin.gz"
META_FILE = "injection_model.json"


@dataclass(frozen=True, slots=True)
class LinearModel:
    weights: array  # int8 per bucket
    scale: float
    bias: float
    threshold: float
    meta: dict[str, Any]

    def logit(self, buckets: list[int]) -> float:
        if not buckets:
            return self.bias
        w = self.weights
        total = sum(w[i] for i in buckets)
        return self.bias + self.scale * total / math.sqrt(len(buckets))

    def probability(self, text: str, obfuscation: Sequence[str] = ()) -> float:
        """The linear stage's probability for a normalised text (the second stage not applied)."""
        return sigmoid(self.logit(hashed(text, obfuscation)))


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def final_scores(texts: Sequence[str], p_linear: Sequence[float]) -> list[float]:
    """The model's probabilities for normalised texts, given the linear stage's probabilities.

    Every scorer (one text at a time or in batches) goes through here, so the second stage applies the
    same way everywhere: texts whose linear probability falls in its zone are re-scored by the encoder
    (:mod:`injection_stage2`, all of them in one batch); all others, and every text when no second stage
    is bundled, keep ``p_linear``."""
    out = list(p_linear)
    stage = injection_stage2.load()
    if stage is None:
        return out
    inside = [i for i, p in enumerate(out) if stage.applies(p)]
    rescored = stage.probabilities([texts[i] for i in inside], [out[i] for i in inside])
    for i, p in zip(inside, rescored, strict=True):
        out[i] = p
    return out


def _package_file(name: str) -> bytes:
    return resources.files("mao.domain.security").joinpath(name).read_bytes()


@cache
def load() -> LinearModel:
    """The bundled model (loaded once per process)."""
    meta = json.loads(_package_file(META_FILE))
    if int(meta["n_buckets"]) != N_BUCKETS:
        raise ValueError(f"model was trained with {meta['n_buckets']} buckets, features use {N_BUCKETS}")
    weights = array("b")
    weights.frombytes(gzip.decompress(_package_file(WEIGHTS_FILE)))
    if len(weights) != N_BUCKETS:
        raise ValueError(f"weights file has {len(weights)} entries, expected {N_BUCKETS}")
    return LinearModel(weights=weights, scale=float(meta["scale"]), bias=float(meta["bias"]),
                       threshold=float(meta["threshold"]), meta=meta)


def save(directory: Any, weights: list[float], bias: float, threshold: float, meta: dict[str, Any]) -> None:
    """Quantise float weights to int8 and write the two model files (used by the training script)."""
    from pathlib import Path

    top = max((abs(w) for w in weights), default=0.0) or 1.0
    scale = top / 127.0
    q = array("b", (max(-127, min(127, round(w / scale))) for w in weights))
    out = Path(directory)
    (out / WEIGHTS_FILE).write_bytes(gzip.compress(q.tobytes(), compresslevel=9, mtime=0))
    body = dict(meta, n_buckets=N_BUCKETS, scale=scale, bias=bias, threshold=threshold)
    (out / META_FILE).write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")


__all__ = ["LinearModel", "final_scores", "load", "save", "sigmoid"]
