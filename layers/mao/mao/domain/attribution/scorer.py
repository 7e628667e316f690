"""Attribution: which agent broke a failed run, and at which step.

Two small weighted scorers over interpretable features (see :mod:`features`): one ranks the run's
agents, the other ranks the chosen agent's steps. Detections passed in by the caller raise the score
of the steps (and agents) their evidence points at. Pure, deterministic, no model calls.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from mao.domain.attribution import explain, features, structure
from mao.domain.attribution.result import Attribution, RankedAgent, RankedStep
from mao.domain.attribution.training import Weights
from mao.domain.attribution.weights import AGENT_WEIGHTS, DETECTION_WEIGHT, STEP_WEIGHTS, TOP_K
from mao.domain.models import Detection, Run

DEFAULT_WEIGHTS = Weights(step=dict(STEP_WEIGHTS), agent=dict(AGENT_WEIGHTS))


def _softmax(scores: Sequence[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def _flagged(run: Run, detections: Sequence[Detection] | None) -> dict[int, float]:
    """Step index -> highest confidence of a detection whose evidence points at that step."""
    if not detections:
        return {}
    by_ref = {s.ref: s.index for s in run.steps}
    flagged: dict[int, float] = {}
    for det in detections:
        for ev in det.evidence:
            index = ev.step_index if ev.step_index is not None else by_ref.get(ev.ref)
            if index is not None and 0 <= index < len(run.steps):
                flagged[index] = max(flagged.get(index, 0.0), det.confidence)
    return flagged


def attribute(
    run: Run, detections: list[Detection] | None = None, *, weights: Weights | None = None
) -> Attribution | None:
    """The responsible agent and decisive step of a failed run, or ``None`` when there is nothing to blame.

    A run that finished ``ok`` with no detections has no failure to attribute.
    """
    if not run.steps or (run.status == "ok" and not detections):
        return None
    w = weights or DEFAULT_WEIGHTS
    view = structure.view(run)
    rows = features.compute(view)
    if not rows:
        return None
    flagged = _flagged(run, detections)
    for step, row in zip(view.candidates, rows, strict=True):
        row["detected"] = flagged.get(step.index, 0.0)
    step_weights: Mapping[str, float] = {**w.step, "detected": DETECTION_WEIGHT}
    step_scores = [features.dot(row, step_weights) for row in rows]

    agent_table = features.agent_rows(view, rows, step_weights)
    best_step_score: dict[str, float] = {}
    for step, row, score in zip(view.candidates, rows, step_scores, strict=True):
        best_step_score[step.agent] = max(best_step_score.get(step.agent, -math.inf), score)
        table = agent_table[step.agent]
        table["detected"] = max(table.get("detected", 0.0), row["detected"])
    agent_weights: Mapping[str, float] = {**w.agent, "detected": DETECTION_WEIGHT}
    agents = list(agent_table)
    agent_scores = [features.dot(agent_table[a], agent_weights) for a in agents]
    agent_probs = _softmax(agent_scores)
    # Ties between agents (common in short runs) go to the agent owning the strongest step.
    order = sorted(
        range(len(agents)), key=lambda i: (agent_scores[i], best_step_score[agents[i]]), reverse=True
    )
    chosen = agents[order[0]]

    own = [i for i, s in enumerate(view.candidates) if s.agent == chosen]
    own_probs = _softmax([step_scores[i] for i in own])
    pick = own[max(range(len(own)), key=lambda k: (own_probs[k], -k))]
    step = view.candidates[pick]
    step_probability = own_probs[own.index(pick)]
    agent_probability = agent_probs[agents.index(chosen)]

    global_probs = _softmax(step_scores)
    others = sorted((i for i in range(len(rows)) if i != pick), key=lambda i: (-global_probs[i], i))
    ranked_steps = [pick, *others]
    step_signals = explain.contributions(rows[pick], step_weights)
    agent_signals = explain.contributions(agent_table[chosen], agent_weights)
    return Attribution(
        agent=chosen,
        step=step.index,
        ref=step.ref,
        confidence=agent_probability * step_probability,
        agent_confidence=agent_probability,
        step_confidence=step_probability,
        reason=explain.reason(view, step, agent_probability, step_signals, agent_signals),
        evidence=explain.evidence(view, step),
        top_agents=[RankedAgent(agents[i], agent_probs[i]) for i in order[:TOP_K]],
        top_steps=[
            RankedStep(c.index, c.agent, c.ref, global_probs[i])
            for i in ranked_steps[:TOP_K]
            for c in (view.candidates[i],)
        ],
        signals=dict(list(step_signals.items())[:5]),
    )
