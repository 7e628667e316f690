"""Human-facing output of attribution, generated from the run: a one-paragraph reason and quotes."""

from __future__ import annotations

from collections.abc import Mapping

from mao.domain.attribution import text
from mao.domain.attribution.structure import RunView, is_error_step
from mao.domain.models import Evidence, Step

QUOTE_CHARS = 300

# What a step feature means when it pushes blame towards a step (only positive contributions are told).
STEP_PHRASES: Mapping[str, str] = {
    "error_after": "the code it handed over failed when executed",
    "first_error_after": "that was the run's first failed execution",
    "first_failure_after": "it is the last step before the run's first failure report",
    "conclusion_overlap": "much of the run's final conclusion already appears in it",
    "conclusion_origin": "it is the first step to state what the run finally concluded",
    "corrected_later": "another agent later called its content wrong",
    "ungrounded": "it rests on assumptions or estimates rather than evidence",
    "new_numbers": "it asserts figures that no earlier step or tool output gave",
    "has_numbers": "it asserts concrete figures",
    "code": "it hands code to an executor",
    "loop_start": "it starts a run of near-identical actions",
    "detected": "a detector flagged it",
}
AGENT_PHRASES: Mapping[str, str] = {
    "top_worker": "does most of the work apart from any coordinator",
    "corrected": "had a claim called wrong by another agent",
    "detected": "owns steps a detector flagged",
}


def contributions(row: Mapping[str, float], weights: Mapping[str, float]) -> dict[str, float]:
    """Positive contributions of each feature to a score, strongest first."""
    parts = {name: weights.get(name, 0.0) * value for name, value in row.items()}
    return dict(sorted(((k, v) for k, v in parts.items() if v > 0), key=lambda kv: -kv[1]))


def consequence(view: RunView, step: Step) -> tuple[Step, str] | None:
    """The first later step that shows what went wrong after ``step``, with a note saying how."""
    later = view.steps[step.index + 1 :]
    own_tokens = text.salient_tokens(text.prefix(step.content))
    for nxt in later[:3]:
        if is_error_step(nxt):
            return nxt, "execution failed after the decisive step"
    for nxt in later:
        if (
            nxt.agent != step.agent
            and text.count(text.CORRECTION, nxt.content)
            and text.containment(own_tokens, text.salient_tokens(text.prefix(nxt.content))) >= 0.3
        ):
            return nxt, "a later step calls the decisive step's content wrong"
    for nxt in later:
        if nxt.agent != step.agent and text.count(text.FAILURE, nxt.content):
            return nxt, "a later step reports a failure"
    if view.conclusion:
        for nxt in reversed(later):
            if nxt.content == view.conclusion:
                return nxt, "the run's final conclusion, built on the decisive step"
    return None


def quote(step: Step) -> str:
    for pattern in (text.EXEC_ERROR, text.CORRECTION, text.UNGROUNDED, text.CONCLUSION):
        window = text.first_match(pattern, text.prose(step.content) or step.content, QUOTE_CHARS)
        if window:
            return window
    return text.clip(step.content, QUOTE_CHARS)


def evidence(view: RunView, step: Step) -> list[Evidence]:
    items = [Evidence(ref=step.ref, quote=text.clip(step.content, QUOTE_CHARS), step_index=step.index,
                      note=f"decisive step by {step.agent}")]
    after = consequence(view, step)
    if after is not None:
        nxt, note = after
        items.append(Evidence(ref=nxt.ref, quote=quote(nxt), step_index=nxt.index, note=note))
    return items


def _join(phrases: list[str]) -> str:
    if len(phrases) <= 1:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def reason(
    view: RunView,
    step: Step,
    agent_probability: float,
    step_signals: Mapping[str, float],
    agent_signals: Mapping[str, float],
) -> str:
    agent_why = [AGENT_PHRASES[k] for k in agent_signals if k in AGENT_PHRASES][:2]
    step_why = [STEP_PHRASES[k] for k in step_signals if k in STEP_PHRASES][:3]
    parts = [f"{step.agent} is the most likely responsible agent (p={agent_probability:.2f})"]
    if agent_why:
        parts[0] += f": it {_join(agent_why)}"
    sentence = f"The decisive step is step {step.index}"
    if step_why:
        sentence += f", because {_join(step_why)}"
    parts.append(sentence)
    after = consequence(view, step)
    if after is not None:
        nxt, note = after
        parts.append(f"Step {nxt.index} by {nxt.agent} shows the effect ({note})")
    return ". ".join(parts) + "."
