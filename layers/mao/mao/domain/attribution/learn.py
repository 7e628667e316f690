"""Fitting the scorer's weights on labelled runs (a conditional logit over each run's candidate steps).

Each labelled run contributes the feature rows of its candidates (steps, or agents) and the position
of the labelled one; the weights maximise the softmax likelihood of the labelled candidate with an L2 penalty,
by full-batch Adam. Pure Python and deterministic, so cross-validation can refit per fold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Example:
    rows: list[list[float]]  # one feature vector (in ``names`` order) per candidate
    target: int  # position of the labelled candidate, -1 when it is not among them


def vectorise(rows: Sequence[Mapping[str, float]], names: Sequence[str]) -> list[list[float]]:
    return [[row[name] for name in names] for row in rows]


def fit(
    examples: Sequence[Example],
    names: Sequence[str],
    *,
    l2: float = 0.05,
    epochs: int = 250,
    learning_rate: float = 0.1,
) -> dict[str, float]:
    """Weights (by feature name) that rank each example's labelled candidate first as often as possible."""
    dims = len(names)
    w = [0.0] * dims
    m = [0.0] * dims
    v = [0.0] * dims
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    usable = [e for e in examples if e.rows and 0 <= e.target < len(e.rows)]
    if not usable:
        return dict.fromkeys(names, 0.0)
    for epoch in range(1, epochs + 1):
        grad = [l2 * wi for wi in w]
        for ex in usable:
            scores = [sum(wi * xi for wi, xi in zip(w, row, strict=True)) for row in ex.rows]
            top = max(scores)
            exps = [math.exp(s - top) for s in scores]
            z = sum(exps)
            expected = [0.0] * dims
            for p_raw, row in zip(exps, ex.rows, strict=True):
                p = p_raw / z
                for k in range(dims):
                    expected[k] += p * row[k]
            target = ex.rows[ex.target]
            scale = 1.0 / len(usable)
            for k in range(dims):
                grad[k] += scale * (expected[k] - target[k])
        for k in range(dims):
            m[k] = beta1 * m[k] + (1 - beta1) * grad[k]
            v[k] = beta2 * v[k] + (1 - beta2) * grad[k] * grad[k]
            m_hat = m[k] / (1 - beta1**epoch)
            v_hat = v[k] / (1 - beta2**epoch)
            w[k] -= learning_rate * m_hat / (math.sqrt(v_hat) + eps)
    return {name: round(value, 3) for name, value in zip(names, w, strict=True)}
