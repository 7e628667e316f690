"""F2 Disobey role specification: an agent does another role's job.

Roles are read from agent names with a small, generic role vocabulary (reviewer, planner, coder,
writer, researcher and their usual synonyms), never from a particular system's agent names. Flagged:

* a reviewer or planner writes the deliverable itself (a substantial code or text block) while the
  run has an agent whose role is to produce it (a coder or writer);
* a planner runs execution tools (shell, code, file edits) while a coder or executor exists;
* an agent speaks for another agent of the run (a "Reviewer: looks good" turn written inside the
  coder's message; addressing an agent at the start of a message, or a planner assigning work by
  name, is not speaking for it);
* a worker approves its own work while the run has a reviewer to do that.

Quoting a few lines of code in a review, or a single-agent run, is not a violation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import compress, count, repeat
from operator import attrgetter, contains

from mao.domain.detectors import _text
from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Run, Step
from mao.domain.taxonomy import mode

SPEC = DetectorSpec(
    key="role_violation",
    name=mode("F2").name,
    version="1.0.0",
    f_code="F2",
    thresholds={
        "min_code_lines": ThresholdSpec(8, 2, 200, "code lines a non-coding role must write to be flagged",
                                        integer=True),
    },
    fix_types=("role_instruction", "prompt_patch"),
)

_ROLE_WORDS: dict[str, tuple[str, ...]] = {
    "reviewer": ("review", "reviewer", "critic", "qa", "tester", "verifier", "checker", "validator",
                 "auditor", "judge", "inspector", "editor", "proofreader"),
    "planner": ("planner", "plan", "manager", "orchestrator", "coordinator", "supervisor", "lead", "pm",
                "architect", "director"),
    "coder": ("coder", "developer", "engineer", "programmer", "dev", "executor", "implementer", "builder"),
    "writer": ("writer", "author", "copywriter", "drafter"),
    "researcher": ("researcher", "research", "searcher", "investigator"),
}
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z])(?=[A-Z])")
_CODE_BLOCK = re.compile(r"```[^\n]*\n(.*?)(?:```|$)", re.DOTALL)
_EXEC_TOOL = re.compile(r"(?i)exec|run_code|python|bash|shell|terminal|write_file|edit|apply_patch|commit")
_SELF_APPROVAL = re.compile(r"(?i)\b(?:i approve|approved\b|lgtm\b|looks good to me|ready to merge|"
                            r"no (?:further )?review (?:is )?needed)")


_TURN_ROLE_NAMES = frozenset({"reviewer", "critic", "planner", "coder", "tester", "verifier", "orchestrator"})
_APPROVAL_TRIGGERS = frozenset(["approve", "approved", "lgtm", "looks", "ready", "review", "needed"])
# every match of _SELF_APPROVAL contains one of these (lower-cased): a cheaper test than the trigger words
_APPROVAL_NEEDLES = ("approve", "lgtm", "looks good to me", "ready to merge", "review")
_NOT_AGENTS = ("user", "human", "system")


def _role(agent: str) -> str | None:
    parts = [p.lower() for p in _SPLIT.split(agent) if p]
    for role, words in _ROLE_WORDS.items():
        if any(p in words for p in parts):
            return role
    return None


def _code_lines(text: str) -> int:
    total = 0
    for block in _CODE_BLOCK.findall(text[: _text.MAX_CHARS * 2]):
        total += sum(1 for line in block.splitlines() if line.strip())
    return total


def _detection(kind: str, step: Step, explanation: str, confidence: float, quote: str | None = None,
               **details: object) -> Detection:
    return Detection(
        type=SPEC.key, f_code=SPEC.f_code, confidence=confidence, severity="medium",
        explanation=explanation + " State each agent's responsibilities (and what it must not do) in its "
                                  "role instructions, and route the work to the agent that owns it.",
        evidence=[_text.evidence(step, quote)], detector_version=SPEC.version,
        details={"violation": kind, "agent": step.agent, **details},
    )


_CONTENT = attrgetter("content")
_AGENT = attrgetter("agent")
_TOOL_CALLS = attrgetter("tool_calls")


def _candidates(steps: list[Step], agents: list[str], roles: dict[str, str | None], min_lines: int) -> list[int]:
    """Positions of the steps one of the four checks can flag; every other step is skipped unread.

    Each check needs something cheap to test: a line break (spoke_for_other, and wrote_code, whose code
    blocks start after one), tool calls of a planner (executed_work) or, in a coder's or writer's message,
    the text every self-approval contains plus a trigger word (self_approval). ``agents`` holds each
    step's agent.
    """
    present = set(roles.values())
    texts = list(map(_CONTENT, steps))
    found: set[int] = set(compress(count(), map(contains, texts, repeat("\n"))))
    if min_lines <= 0 and present & {"coder", "writer"} and present & {"reviewer", "planner"}:
        found.update(compress(count(), map(contains, texts, repeat("```"))))  # "0 lines" needs no break
    if "planner" in present and "coder" in present:
        planners = {a for a, r in roles.items() if r == "planner"}
        found.update(pos for pos in compress(count(), map(planners.__contains__, agents)) if steps[pos].tool_calls)
    if "reviewer" in present and present & {"coder", "writer"}:
        makers = {a for a, r in roles.items() if r in ("coder", "writer")}
        by_makers = list(compress(count(), map(makers.__contains__, agents)))
        for k in _text.texts_with([texts[pos] for pos in by_makers], _APPROVAL_NEEDLES):
            if _text.has_any(texts[by_makers[k]], _APPROVAL_TRIGGERS):
                found.add(by_makers[k])
    return sorted(found)


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    steps = run.steps
    step_agents = list(map(_AGENT, steps))
    # the run's agents in order of first appearance (``Run.agents``, gathered in C)
    agents = [a for a in dict.fromkeys(step_agents) if a.lower() not in _NOT_AGENTS]
    if len(agents) < 2:
        return []
    roles = {a: _role(a) for a in agents}
    present = set(roles.values())
    min_lines = int(thresholds["min_code_lines"])
    # names a message may not write turns for: the run's agents and the usual chat role names (not words
    # such as "Author:" or "Director:", which web pages and documents quoted in a message use)
    role_names = _TURN_ROLE_NAMES
    names = sorted({a for a in agents if len(a) >= 3} | role_names, key=len, reverse=True)
    speaker = re.compile(r"(?im)^[ \t>*_\[]*(" + "|".join(re.escape(a) for a in names)
                         + r")[\]*_ \t]*:\s*\S")
    found: list[Detection] = []
    flagged: set[tuple[str, str]] = set()

    def add(det: Detection) -> None:
        key = (det.details["violation"], det.details["agent"])
        if key not in flagged:
            flagged.add(key)
            found.append(det)

    for pos in _candidates(steps, step_agents, roles, min_lines):
        step = steps[pos]
        if _text.is_user(step) or step.agent not in roles:
            continue
        role = roles[step.agent]
        text = step.content
        if role in ("reviewer", "planner") and present & {"coder", "writer"} and "```" in text:
            lines = _code_lines(text)
            if lines >= min_lines:
                coder = next(a for a, r in roles.items() if r in ("coder", "writer"))
                add(_detection("wrote_code", step,
                               f"Role violation: {step.agent} (a {role}) wrote {lines} lines of the work "
                               f"at step {step.index}, which is {coder}'s job.",
                               min(0.9, 0.6 + lines / 100), lines=lines))
        if role == "planner" and "coder" in present and step.tool_calls:
            tools = [c.name for c in step.tool_calls if _EXEC_TOOL.search(c.name)]
            if tools:
                add(_detection("executed_work", step,
                               f"Role violation: {step.agent} (a planner) ran '{tools[0]}' itself at step "
                               f"{step.index} instead of delegating to the executing agent.", 0.7,
                               _text.tool_signature(step), tool=tools[0]))
        if role != "planner" and "\n" in text and ":" in text:
            # "Name: ..." on a later line of the message is a turn written for that agent; at the very start
            # it addresses them, and planners legitimately assign work by name
            for m in speaker.finditer(text[: _text.MAX_CHARS]):
                other = next((a for a in agents if a.lower() == m.group(1).lower()), m.group(1))
                if other == step.agent or _role(other) == role or not text[: m.start()].strip():
                    continue
                add(_detection("spoke_for_other", step,
                               f"Role violation: {step.agent} wrote a message as {other} at step "
                               f"{step.index}, speaking for another agent.", 0.8,
                               _text.excerpt(text, m.start(), m.end()), impersonated=other))
                break
        if role in ("coder", "writer") and "reviewer" in present and _text.has_any(text, _APPROVAL_TRIGGERS):
            m = _SELF_APPROVAL.search(text[: _text.MAX_CHARS])
            if m:
                add(_detection("self_approval", step,
                               f"Role violation: {step.agent} (a {role}) approved its own work at step "
                               f"{step.index}; approval belongs to the reviewer.", 0.65,
                               _text.excerpt(text, m.start(), m.end())))
    return found
