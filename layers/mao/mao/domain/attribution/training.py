"""Turning labelled runs into training examples and fitting both weight sets (used by ``mao eval``).

The agent weights rank the run's candidate agents; the step weights rank the steps *of the responsible
agent* (the scorer first picks the agent, then its decisive step). Labels name agents as the data
does, so agents are matched case-insensitively.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mao.domain.attribution import features, structure
from mao.domain.attribution.learn import Example, fit, vectorise
from mao.domain.models import Run


@dataclass(frozen=True, slots=True)
class LabelledRun:
    agent_example: Example
    step_example: Example


@dataclass(frozen=True, slots=True)
class Weights:
    step: dict[str, float]
    agent: dict[str, float]


def same_agent(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def labelled(run: Run, agent: str, step: int, step_weights: Mapping[str, float] | None = None) -> LabelledRun:
    """Training examples of one labelled run; ``step_weights`` feed the agents' ``strongest_step``."""
    view = structure.view(run)
    rows = features.compute(view)
    agent_table = features.agent_rows(view, rows, step_weights or {})
    agents = list(agent_table)
    agent_target = next((i for i, a in enumerate(agents) if same_agent(a, agent)), -1)
    agent_vectors = vectorise([agent_table[a] for a in agents], features.AGENT_FEATURES)
    own = [i for i, s in enumerate(view.candidates) if same_agent(s.agent, agent)]
    step_vectors = vectorise([rows[i] for i in own], features.FEATURES)
    step_target = next((k for k, i in enumerate(own) if view.candidates[i].index == step), -1)
    return LabelledRun(Example(agent_vectors, agent_target), Example(step_vectors, step_target))


def fit_weights(cases: Sequence[tuple[Run, str, int]], *, l2: float = 0.3) -> Weights:
    """Fit the step weights first, then the agent weights (whose ``strongest_step`` uses them)."""
    first = [labelled(run, agent, step) for run, agent, step in cases]
    step_weights = fit([r.step_example for r in first], features.FEATURES, l2=l2)
    second = [labelled(run, agent, step, step_weights) for run, agent, step in cases]
    agent_weights = fit([r.agent_example for r in second], features.AGENT_FEATURES, l2=l2)
    return Weights(step=step_weights, agent=agent_weights)
