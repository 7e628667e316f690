"""The structural view of a run that attribution needs: who is a tool, who may be blamed, what was concluded.

* A *tool agent* mostly emits execution output (or its steps are tool spans). Tools run what they are
  given, so their output is evidence against the step that fed them, never a candidate itself.
* The *task giver* (user/human role) is not a candidate either.
* The *conclusion* is the run's final output when known, else the last substantive agent message:
  the wrong answer a failed run ended with, whose origin the features look for.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from mao.domain.attribution import text
from mao.domain.models import Run, Step

_TOOL_ROLES = frozenset({"tool", "function", "ipython"})
_USER_ROLES = frozenset({"user", "human", "system"})
_MIN_SUBSTANTIVE = 40  # characters; shorter messages are control chatter ("TERMINATE", "Next speaker X")


def is_exec_output(step: Step) -> bool:
    return bool(text.EXEC_OUTPUT.search(step.content[:200]))


def is_tool_step(step: Step) -> bool:
    return step.kind == "tool" or step.role in _TOOL_ROLES or bool(step.tool_calls and not step.content)


def is_error_step(step: Step) -> bool:
    """The step failed, by status or by what its output says."""
    if step.status == "error" or step.error:
        return True
    return bool(text.EXEC_ERROR.search(text.prefix(step.content)))


@dataclass(slots=True)
class RunView:
    run: Run
    tool_agents: frozenset[str]
    candidates: list[Step]  # steps that may be blamed, in run order
    conclusion: str
    activity: Counter[str] = field(default_factory=Counter)  # candidate steps per agent

    @property
    def steps(self) -> list[Step]:
        return self.run.steps


def _tool_agents(steps: list[Step]) -> frozenset[str]:
    total: Counter[str] = Counter()
    tool_like: Counter[str] = Counter()
    for step in steps:
        total[step.agent] += 1
        if is_tool_step(step) or is_exec_output(step):
            tool_like[step.agent] += 1
    return frozenset(agent for agent, n in total.items() if tool_like[agent] * 2 >= n and tool_like[agent])


def _conclusion(run: Run, tool_agents: frozenset[str]) -> str:
    if run.final_output and run.final_output.strip():
        return run.final_output
    for step in reversed(run.steps):
        if step.agent in tool_agents or step.role in _USER_ROLES:
            continue
        if len(step.content.strip()) >= _MIN_SUBSTANTIVE:
            return step.content
    return ""


def view(run: Run) -> RunView:
    tool_agents = _tool_agents(run.steps)
    candidates = [
        s
        for s in run.steps
        if s.agent not in tool_agents and s.role not in _USER_ROLES and not is_tool_step(s)
    ]
    if not candidates:  # a run of tools only: blame falls on whoever acted
        candidates = [s for s in run.steps if s.role not in _USER_ROLES] or list(run.steps)
    activity = Counter(s.agent for s in candidates)
    return RunView(
        run=run,
        tool_agents=tool_agents,
        candidates=candidates,
        conclusion=_conclusion(run, tool_agents),
        activity=activity,
    )


def is_substantive(step: Step) -> bool:
    return len(step.content.strip()) >= _MIN_SUBSTANTIVE
