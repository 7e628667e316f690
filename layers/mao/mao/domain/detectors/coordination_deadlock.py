"""Operational: coordination deadlock. Agents wait on each other and nothing moves.

A *wait* is a message saying its author cannot go on until another agent acts ("waiting for the
Reviewer's approval", "I need your schema before I can start", "blocked on DataAgent"). The agent
waited on is the one named in the sentence, or, for "you/your", the agent the author is answering.
A wait is released when the awaited agent delivers (a message that is not itself a wait).

Reported:
- a circular wait: A waits on B while B waits on A (or a longer cycle), neither released;
- a stall: several consecutive messages that are all waits;
- an open request at the end: the run ends while an agent still waits on another, or after a request
  or hand-off to an agent that never speaks again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from operator import attrgetter

from mao.domain.detectors import _text
from mao.domain.detectors import _text_extra as tx
from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Evidence, Run, Step

SPEC = DetectorSpec(
    key="coordination_deadlock",
    name="Coordination deadlock",
    version="1.0.0",
    thresholds={
        "min_confidence": ThresholdSpec(0.55, 0.0, 1.0, "lowest confidence reported"),
        "min_stall_messages": ThresholdSpec(
            3, 2, 20, "consecutive waiting messages that make a stall", integer=True
        ),
    },
    fix_types=("termination_condition", "role_instruction", "loop_guard"),
)

_WAIT = re.compile(
    r"\b(?:(?:still )?waiting (?:for|on)|(?:i'll|i will|let's|we'll|we will) wait (?:for|on|until)|"
    r"wait(?:ing)? until|blocked (?:on|by|until)|can(?:not|'t|not yet) (?:proceed|continue|start|begin|"
    r"move on|"
    r"finish)(?: \w+){0,4} (?:until|without|before)|need(?:s)? (?:\w+(?:'s)? ){1,3}(?:input|answer|response|"
    r"approval|result|results|output|reply|confirmation|schema|spec|data|sign-?off) (?:before|first|"
    r"to proceed)|"
    r"once (?:\w+ ){1,2}(?:sends|provides|replies|responds|finishes|confirms|approves|delivers|shares)|"
    r"depend(?:s|ing)? on (?:\w+(?:'s)? ){1,3}(?:input|answer|response|approval|result|output|reply)|"
    r"pending (?:approval|response|input|reply|confirmation) from)"
)
_WAIT_GATE = ("wait", "blocked", "cannot", "can't", "need", "once ", "depend", "pending")
# the gate's words, "depend" and "pending" merged into their common part: one scan of a run per entry
_WAIT_SCAN = ("wait", "blocked", "cannot", "can't", "need", "once ", "pend")
_REQUEST = re.compile(
    r"\b(?:please|can you|could you|would you|handing (?:this |it )?(?:off|over) to|over to you|your turn|"
    r"passing (?:this |it )?(?:to|on to)|delegat\w+ to|assign\w* to|transfer(?:ring)? to)\b|->|@\w"
)
_YOU = re.compile(r"\b(?:you|your)\b")


_AGENT = attrgetter("agent")
_CONTENT = attrgetter("content")


# Tool steps (by kind or role), the user (by role, or an agent named like the user) and system messages
# do not speak; every other step does.
_TOOL_KINDS = frozenset({"tool", "retrieval"})
_SILENT_ROLES = frozenset({"tool", "user", "human", "system"})


def _speaking(steps: list[Step]) -> list[Step]:
    """The steps that speak, in order (``tx.is_tool_step`` and ``tx.is_user_step`` spelled out over the run,
    the agent-name test made once per distinct agent)."""
    users = {a for a in set(map(_AGENT, steps)) if tx.is_user_step(Step(index=0, agent=a, content="", ref=""))}
    return [s for s in steps if s.kind not in _TOOL_KINDS and s.role not in _SILENT_ROLES and s.agent not in users]


def _wait_targets(step: Step, agents: list[str], last_other: str | None) -> tuple[list[str], str] | None:
    low = tx.lower(step.content)
    if not any(g in low for g in _WAIT_GATE):
        return None
    # a wait found in one sentence is also found in the whole (lower-cased) message, whose sentences are
    # separated by whitespace: one search rules out a message before it is split
    if not _WAIT.search(low):
        return None
    for sentence in tx.sentences(step.content):
        s_low = sentence.lower()
        if not _WAIT.search(s_low):
            continue
        named = [a for a in tx.agent_mentions(s_low, agents) if a != step.agent]
        if not named and _YOU.search(s_low) and last_other:
            named = [last_other]
        return named, sentence
    return None


def _release(waits: dict[str, dict[str, tuple[Step, str]]], agent: str) -> None:
    """``agent`` delivered: whoever waited on it stops waiting, and so does it."""
    for waiter in waits.values():
        waiter.pop(agent, None)
    waits.pop(agent, None)


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    min_conf = float(thresholds.get("min_confidence", 0.55))
    stall_n = int(thresholds.get("min_stall_messages", 3))
    steps = run.steps
    speaking = _speaking(steps)
    speakers = set(map(_AGENT, speaking))
    agents = [a for a in dict.fromkeys(map(_AGENT, steps)) if a in speakers]  # run.agents order
    if len(agents) < 2:
        return []
    waits: dict[str, dict[str, tuple[Step, str]]] = {}  # waiter -> {awaited: (step, sentence)}
    stall: list[tuple[Step, str]] = []
    detections: list[Detection] = []
    cycle_reported = False
    stall_reported = False
    # Only a message holding a gate word can wait; every other speaking step delivers. The walk jumps
    # from one such message to the next (``texts_with`` finds a superset of them: ``_wait_targets`` tests
    # each exactly) and replays the deliveries in between.
    prev = -1
    for k in sorted(_text.texts_with(list(map(_CONTENT, speaking)), _WAIT_SCAN)):
        if k - prev > 1:
            if waits:
                for between in speaking[prev + 1:k]:
                    _release(waits, between.agent)
            stall = []
        prev = k
        step = speaking[k]
        last_speaker = speaking[k - 1].agent if k else None
        found = _wait_targets(step, agents, last_speaker if last_speaker != step.agent else None)
        if found is None:
            _release(waits, step.agent)
            stall = []
            continue
        targets, sentence = found
        for t in targets:
            waits.setdefault(step.agent, {})[t] = (step, sentence)
        stall.append((step, sentence))
        if not cycle_reported:
            cycle = _cycle(waits, step.agent)
            if cycle:
                cycle_reported = True
                ev = [
                    tx.evidence(waits[a][b][0], waits[a][b][1], f"{a} waits on {b}")
                    for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True)
                ]
                detections.append(_make(0.85, "circular wait: " + " -> ".join([*cycle, cycle[0]]), ev))
        if (
            not stall_reported
            and not cycle_reported
            and len(stall) >= stall_n
            and len({s.agent for s, _ in stall}) >= 2
        ):
            stall_reported = True
            ev = [tx.evidence(s, q, "waiting message") for s, q in stall[:4]]
            detections.append(
                _make(
                    0.7,
                    f"{len(stall)} consecutive messages only wait on each other "
                    f"({', '.join(sorted({s.agent for s, _ in stall}))})",
                    ev,
                )
            )
    if not detections:
        if waits:
            for between in speaking[prev + 1:]:
                _release(waits, between.agent)
        end = _open_at_end(speaking, waits, agents)
        if end is not None:
            detections.append(end)
    return [d for d in detections if d.confidence >= min_conf]


def _cycle(waits: dict[str, dict[str, tuple[Step, str]]], start: str) -> list[str] | None:
    path = [start]
    seen = {start}

    def walk(node: str) -> list[str] | None:
        for nxt in waits.get(node, {}):
            if nxt == start and len(path) >= 2:
                return list(path)
            if nxt not in seen and len(path) < 8:
                seen.add(nxt)
                path.append(nxt)
                found = walk(nxt)
                if found:
                    return found
                path.pop()
        return None

    return walk(start)


def _open_at_end(
    speaking: list[Step], waits: dict[str, dict[str, tuple[Step, str]]], agents: list[str]
) -> Detection | None:
    for waiter, targets in waits.items():
        for awaited, (step, sentence) in targets.items():
            return _make(
                0.65,
                f"the run ended while {waiter} was still waiting on {awaited}",
                [tx.evidence(step, sentence, "unanswered wait")],
            )
    if not speaking:
        return None
    last = speaking[-1]
    low = tx.lower(last.content)
    calls = " ".join(c.name.lower() + " " + tx.arguments_text(c).lower() for c in last.tool_calls)
    target = None
    for a in agents:
        if a == last.agent:
            continue
        if tx.mentions_agent(calls, a) != -1 or (tx.mentions_agent(low, a) != -1 and _REQUEST.search(low)):
            target = a
            break
    if target is None:
        return None
    handoff = any(
        "transfer" in c.name.lower() or "handoff" in c.name.lower() or "delegate" in c.name.lower()
        for c in last.tool_calls
    )
    if not handoff and "?" not in last.content[-300:] and not _REQUEST.search(low[-300:]):
        return None
    return _make(
        0.6,
        f"the run ended right after {last.agent} handed work to {target}, who never answered",
        [tx.evidence(last, last.content, "request never answered")],
    )


def _make(confidence: float, reason: str, evidence: list[Evidence]) -> Detection:
    explanation = (
        f"Coordination deadlock: {reason}. Give waits a timeout and an owner who decides, and make "
        f"the orchestrator detect agents that wait on each other."
    )
    return Detection(
        type=SPEC.key,
        f_code=None,
        confidence=round(confidence, 4),
        severity="high" if confidence >= 0.8 else tx.severity_for(confidence),
        explanation=explanation,
        evidence=evidence,
        detector_version=SPEC.version,
        details={"reason": reason},
    )
