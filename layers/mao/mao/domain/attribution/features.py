"""Per-step features of blame: where a step sits, what it did and what happened after it.

Every feature is a number in [0, 1] computed from the run's structure and text only (who spoke after
whom, tool errors that followed, failure reports, later corrections, repeated steps, the origin of
the final conclusion). The scorer combines them with the weights in :mod:`weights`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from mao.domain.attribution import text
from mao.domain.attribution.structure import RunView, is_error_step, is_substantive
from mao.domain.models import Step

_NEAR_DUPLICATE = 0.7  # Jaccard of salient tokens above which two steps count as the same action
_FOLLOW_WINDOW = 2  # steps after a candidate that count as its immediate consequence
_NEW_NUMBERS_FULL = 3  # unsupported figures at which ``new_numbers`` saturates

FEATURES: tuple[str, ...] = (
    "position",  # relative position in the run
    "agent_first",  # first step of this agent
    "short",  # control chatter rather than substance
    "length",  # log length of the step
    "code",  # the step hands code to an executor
    "error_after",  # the execution that followed the step failed
    "first_error_after",  # ... and that was the run's first failed execution
    "first_failure_after",  # the step just before the run's first failure report
    "reports_failure",  # the step itself reports a failure
    "has_numbers",  # the step asserts concrete figures
    "new_numbers",  # figures that neither the task nor any earlier step (tool output included) gave
    "ungrounded",  # assumptions, placeholders, estimates instead of evidence
    "conclusion_overlap",  # share of the run's conclusion that this step already contains
    "conclusion_origin",  # first step to contain the run's conclusion
    "is_conclusion",  # the step is the conclusion itself
    "corrected_later",  # a later step by another agent calls this step's content wrong
    "loop_start",  # the step starts a run of near-identical actions by its agent
    "repeats",  # the step repeats an earlier action of its agent
    "matches_expected",  # the step contains the expected answer (evidence of a correct step)
)


def _follow(view: RunView, step: Step) -> list[Step]:
    """The steps right after ``step`` up to and including the next candidate, at most a small window."""
    out: list[Step] = []
    for nxt in view.steps[step.index + 1 :]:
        out.append(nxt)
        if len(out) >= _FOLLOW_WINDOW or (nxt.agent not in view.tool_agents and nxt.agent != step.agent):
            break
    return out


def _tokens(step: Step) -> frozenset[str]:
    return text.salient_tokens(text.prefix(step.content))


def compute(view: RunView) -> list[dict[str, float]]:
    """One feature dict per candidate step of the run, in the order of ``view.candidates``."""
    cands = view.candidates
    if not cands:
        return []
    n_steps = max(1, len(view.steps) - 1)

    # What the conclusion adds to the task: restating the question is no evidence of origin.
    task_text = " ".join([view.run.task or "", *(s.content for s in view.steps if s.role == "user")])
    task_tokens = text.salient_tokens(text.prefix(task_text))
    concl_tokens = text.salient_tokens(text.prefix(view.conclusion)) - task_tokens
    concl_numbers = text.numbers(view.conclusion) - text.numbers(task_text)
    expected = text.salient_tokens(view.run.ground_truth or "")
    concl_step = next(
        (s.index for s in reversed(cands) if view.conclusion and s.content == view.conclusion), None
    )

    tokens = {s.index: _tokens(s) for s in cands}
    follows = {s.index: _follow(view, s) for s in cands}
    error_after = {i: any(is_error_step(f) for f in fs) for i, fs in follows.items()}
    failure_after = {
        i: sum(text.count(text.FAILURE, f.content) for f in fs if f.agent != view.steps[i].agent)
        for i, fs in follows.items()
    }
    first_error = next((s.index for s in cands if error_after[s.index]), None)
    first_failure = next((s.index for s in cands if failure_after[s.index] > 0), None)

    overlap = {
        s.index: (text.containment(concl_tokens, tokens[s.index]) if s.index != concl_step else 0.0)
        for s in cands
    }
    origin = next(
        (
            s.index
            for s in cands
            if s.index != concl_step
            and (overlap[s.index] >= 0.5 or (concl_numbers and concl_numbers & text.numbers(s.content)))
        ),
        None,
    )

    # Figures the run already had before each step: the task's, and any step's (tool outputs included).
    known_numbers: dict[int, frozenset[str]] = {}
    known = set(text.numbers(task_text))
    for s in view.steps:
        known_numbers[s.index] = frozenset(known)
        known |= text.numbers(s.content)

    corrections = [
        (s.index, s.agent, _tokens(s)) for s in view.steps if text.count(text.CORRECTION, s.content) > 0
    ]

    seen_agent: set[str] = set()
    rows: list[dict[str, float]] = []
    for step in cands:
        idx = step.index
        body = step.content
        own_tokens = tokens[idx]
        same_agent = [c for c in cands if c.agent == step.agent and c.index != idx]
        dup_before = any(
            c.index < idx and text.jaccard(own_tokens, tokens[c.index]) >= _NEAR_DUPLICATE for c in same_agent
        )
        dup_after = any(
            c.index > idx and text.jaccard(own_tokens, tokens[c.index]) >= _NEAR_DUPLICATE for c in same_agent
        )
        corrected = any(
            ci > idx and agent != step.agent and text.containment(own_tokens, ctoks) >= 0.3
            for ci, agent, ctoks in corrections
        )
        row = {
            "position": idx / n_steps,
            "agent_first": float(step.agent not in seen_agent),
            "short": float(not is_substantive(step)),
            "length": min(1.0, math.log10(len(body) + 1) / 4),
            "code": float(text.has_code(body)),
            "error_after": float(error_after[idx]),
            "first_error_after": float(idx == first_error),
            "first_failure_after": float(idx == first_failure),
            "reports_failure": min(1.0, text.count(text.FAILURE, body) / 2),
            "has_numbers": float(bool(text.numbers(body))),
            "new_numbers": min(1.0, len(text.numbers(body) - known_numbers[idx]) / _NEW_NUMBERS_FULL),
            "ungrounded": min(1.0, text.count(text.UNGROUNDED, body) / 2),
            "conclusion_overlap": overlap[idx],
            "conclusion_origin": float(idx == origin),
            "is_conclusion": float(idx == concl_step),
            "corrected_later": float(corrected),
            "loop_start": float(dup_after and not dup_before),
            "repeats": float(dup_before),
            "matches_expected": text.containment(expected, own_tokens) if expected else 0.0,
        }
        seen_agent.add(step.agent)
        rows.append(row)
    return rows


def dot(row: Mapping[str, float], weights: Mapping[str, float]) -> float:
    return sum(weights.get(name, 0.0) * value for name, value in row.items())


AGENT_FEATURES: tuple[str, ...] = (
    "top_worker",  # the most active agent once a coordinating hub is set aside
    "corrected",  # another agent later called one of this agent's steps wrong
    "strongest_step",  # how the agent's most suspicious step compares with the run's most suspicious one
)
_HUB_SHARE = 0.6  # an agent that precedes this share of the others' steps coordinates them


def _mentions(agent: str, names: list[str], view: RunView) -> float:
    """Share of the agent's steps that address or name another candidate agent."""
    patterns = [re.compile(rf"\b{re.escape(n)}\b", re.I) for n in names if n != agent]
    own = [s for s in view.candidates if s.agent == agent]
    if not patterns or not own:
        return 0.0
    return sum(1 for s in own if any(p.search(text.prefix(s.content)) for p in patterns)) / len(own)


def hub_scores(view: RunView) -> dict[str, float]:
    """Per agent, how much it coordinates the others: the mean of the share of other agents' steps that
    come right after one of its steps and the share of its own steps that name another agent."""
    names = list(view.activity)
    scores: dict[str, float] = {}
    for agent in names:
        others = [s for s in view.candidates if s.agent != agent]
        if not others:
            scores[agent] = 0.0
            continue
        handed = sum(1 for s in others if s.index > 0 and view.steps[s.index - 1].agent == agent)
        scores[agent] = (handed / len(others) + _mentions(agent, names, view)) / 2
    return scores


def agent_rows(
    view: RunView, rows: list[dict[str, float]], step_weights: Mapping[str, float]
) -> dict[str, dict[str, float]]:
    """One feature dict per candidate agent (in order of first appearance); ``step_weights`` score the
    steps whose strongest one, per agent, is compared with the run's strongest."""
    hub = hub_scores(view)
    coordinator = max(view.activity, key=lambda a: (hub[a], view.activity[a]))
    workers = [a for a in view.activity if a != coordinator or hub[a] < _HUB_SHARE] or list(view.activity)
    top_worker = max(workers, key=lambda a: view.activity[a])
    corrected: dict[str, float] = {}
    best: dict[str, float] = {}
    for step, row in zip(view.candidates, rows, strict=True):
        corrected[step.agent] = max(corrected.get(step.agent, 0.0), row["corrected_later"])
        best[step.agent] = max(best.get(step.agent, -math.inf), dot(row, step_weights))
    top_score = max(best.values())
    return {
        agent: {
            "top_worker": float(agent == top_worker),
            "corrected": corrected.get(agent, 0.0),
            "strongest_step": math.exp(best[agent] - top_score),
        }
        for agent in view.activity
    }
