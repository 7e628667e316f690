"""Operational loops: an agent or a group of agents going round without progress.

Methods (reported in ``details["method"]``):

* ``exact_repeat`` / ``semantic_repeat``: one agent emits the same step (message, or tool call
  with its result) again and again in a row.
* ``ping_pong``: two agents bounce the same two messages back and forth.
* ``semantic_cycle``: a cycle of several agents repeats with (near-)identical content each round.
* ``retry_storm``: the same tool fails again and again with no successful call in between.

Repetition is judged on content (word shingles, numbers masked), never on agent order alone: an
ordinary planner -> coder -> reviewer cycle whose messages move the work forward is not a loop,
and a missing state delta is not taken as "no progress". When both steps do carry a state and it
changed, the pair is not a repeat. Work is linear: each step is compared with at most
``max_period`` predecessors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from itertools import compress
from operator import attrgetter, eq

from mao.domain.detectors import _text
from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Run, Step

SPEC = DetectorSpec(
    key="loop",
    name="Loop (infinite loop, retry storm, ping-pong)",
    version="1.0.0",
    f_code=None,
    thresholds={
        "min_repeats": ThresholdSpec(3, 2, 50, "same step by one agent in a row, counting the first",
                                     integer=True),
        "min_cycles": ThresholdSpec(3, 2, 50, "rounds of a repeating multi-agent cycle", integer=True),
        "similarity": ThresholdSpec(0.85, 0.5, 1.0, "word Jaccard at which two steps count as the same"),
        "retry_storm_min": ThresholdSpec(4, 2, 100, "failed calls of one tool with no success between",
                                         integer=True),
        "max_period": ThresholdSpec(4, 2, 8, "longest cycle (in steps) looked for", integer=True),
    },
    fix_types=("loop_guard", "recursion_limit", "retry_policy", "termination_condition"),
)

_AGENT = attrgetter("agent")
_TOOL_CALLS = attrgetter("tool_calls")
_ERROR = attrgetter("error")
_MIN_TOKENS = 4  # shorter messages ("OK", "Continue") only count as a loop when repeated twice as long
_MAX_DETECTIONS = 5


def _signature(step: Step) -> str:
    """What a step did, for repeat comparison: its text plus tool calls and their results."""
    if not step.tool_calls:
        return step.content
    calls = "; ".join(f"{c.name}({str(c.arguments)[:300]}) -> {str(c.result)[:300]} {c.error or ''}"
                      for c in step.tool_calls)
    return f"{step.content}\n{calls}" if step.content else calls


def _same(a: Step, b: Step, sig_a: str, sig_b: str, threshold: float) -> bool:
    if a.agent != b.agent or not sig_a or not sig_b or _text.made_progress(a, b):
        return False
    return _text.near_duplicate(sig_a, sig_b, threshold)


def _failed_tools(step: Step) -> list[str]:
    names = [c.name for c in step.tool_calls if c.error]
    if step.status == "error" and step.tool_calls and not names:
        names = [c.name for c in step.tool_calls]
    return names


class _Signatures:
    """``_signature`` of each step, computed on first use: most steps are never compared."""

    def __init__(self, steps: list[Step]) -> None:
        self._steps = steps
        self._cache: dict[int, str] = {}

    def __getitem__(self, pos: int) -> str:
        sig = self._cache.get(pos)
        if sig is None:
            sig = self._cache[pos] = _signature(self._steps[pos])
        return sig


class _AgentRuns:
    """Stretches of steps by the same agent as the step ``period`` before, found at C speed.

    Each step's agent becomes one byte; XOR-ing the run's byte string with itself shifted by ``period``
    (as big integers) leaves a zero byte exactly where the two agents are the same, and a regex finds the
    long runs of zero bytes. Runs with more than 256 distinct agents compare names one by one.
    """

    def __init__(self, agents: list[str]) -> None:
        self._agents = agents
        codes = {agent: code for code, agent in enumerate(dict.fromkeys(agents))}
        self._bytes = bytes(map(codes.__getitem__, agents)) if len(codes) <= 256 else None

    def __call__(self, period: int, min_len: int) -> Iterator[tuple[int, int]]:
        """(first, end) of every stretch of at least ``min_len`` consecutive steps ``i``
        (``first <= i < end``) whose agent is the agent of step ``i - period``."""
        n = len(self._agents) - period
        if n <= 0:
            return
        if self._bytes is not None:
            seq = self._bytes
            diff = (int.from_bytes(seq[period:], "big") ^ int.from_bytes(seq[:-period], "big")).to_bytes(n, "big")
            runs = re.finditer(b"\x00{%d,}" % min_len, diff)
        else:
            same = bytes(map(eq, self._agents[period:], self._agents[:-period]))
            runs = re.finditer(b"\x01{%d,}" % min_len, same)
        for m in runs:
            yield period + m.start(), period + m.end()


def _streaks(start: int, end: int, min_len: int, same: Callable[[int], bool]) -> Iterator[tuple[int, int]]:
    """(first, end) of every maximal stretch of at least ``min_len`` positions in ``start..end-1`` where
    ``same`` holds, testing as few positions as possible: the last position of a window is tested first,
    and a failure there rules out every window that contains it."""
    i = start  # first position after a known failure (or the start)
    while end - i >= min_len:
        failed = next((q for q in range(i + min_len - 1, i - 1, -1) if not same(q)), None)
        if failed is not None:
            i = failed + 1
            continue
        k = i + min_len
        while k < end and same(k):
            k += 1
        yield i, k
        i = k + 1


def _candidates(run: Run, sigs: _Signatures, t: Mapping[str, float]) -> list[tuple[int, int, int]]:
    """(period, first step, last step) of every repeating stretch long enough to report.

    A stretch of ``streak`` repeats at ``period`` makes ``(streak + period) // period`` rounds, so a
    reportable one needs at least ``(need - 1) * period`` repeats in a row, all by the same agent as
    ``period`` steps before: only such stretches of the run are compared, and within them only as many
    steps as it takes to find (or rule out) that many repeats in a row.
    """
    steps = run.steps
    min_repeats, min_cycles = int(t["min_repeats"]), int(t["min_cycles"])
    threshold = float(t["similarity"])
    agent_runs = _AgentRuns(list(map(_AGENT, steps)))
    found: list[tuple[int, int, int]] = []
    for period in range(1, int(t["max_period"]) + 1):
        need = min_repeats if period == 1 else min_cycles
        min_len = max(1, (need - 1) * period)

        def same(i: int, period: int = period) -> bool:
            return _same(steps[i], steps[i - period], sigs[i], sigs[i - period], threshold)

        for start, end in agent_runs(period, min_len):
            for first_repeat, stop in _streaks(start, end, min_len, same):
                first, last = first_repeat - period, stop - 1
                rounds = (stop - first_repeat + period) // period
                short = all(len(_text.word_set(sigs[s.index])) < _MIN_TOKENS for s in steps[first:last + 1])
                if rounds >= (need * 2 if short else need):
                    found.append((period, first, last))
    return found


def _loop_detection(run: Run, sigs: _Signatures, period: int, first: int, last: int) -> Detection:
    steps = run.steps[first:last + 1]
    rounds = len(steps) // period
    agents = list(dict.fromkeys(s.agent for s in steps))
    exact = len({_text.fingerprint(sigs[s.index]) for s in steps[::period]}) == 1
    if period == 1:
        method = "exact_repeat" if exact else "semantic_repeat"
        what = f"{agents[0]} repeated the same step {rounds} times in a row (steps {first}-{last})"
    elif period == 2 and len(agents) == 2:
        method = "ping_pong"
        what = (f"{agents[0]} and {agents[1]} bounced the same two messages back and forth "
                f"{rounds} times (steps {first}-{last})")
    else:
        method = "semantic_cycle"
        what = (f"the cycle {' -> '.join(s.agent for s in steps[:period])} repeated {rounds} times with "
                f"the same content (steps {first}-{last})")
    ends_run = last == len(run.steps) - 1
    confidence = min(0.97, 0.6 + 0.08 * rounds + (0.1 if exact else 0.0))
    severity = "high" if ends_run or rounds >= 5 else "medium"
    tail = " and the run ended inside the loop" if ends_run else ""
    explanation = (f"Loop: {what}, with no new content between rounds{tail}. Add a loop guard that "
                   f"stops when a step repeats, or a termination condition on the cycle.")
    shown = [steps[0], *steps[period:period * 2]][:period + 1] if period > 1 else [steps[0], steps[-1]]
    return Detection(
        type=SPEC.key, f_code=SPEC.f_code, confidence=round(confidence, 4), severity=severity,
        explanation=explanation,
        evidence=[_text.evidence(s, sigs[s.index], note="repeat" if k else "first occurrence")
                  for k, s in enumerate(shown)],
        detector_version=SPEC.version,
        details={"method": method, "period": period, "rounds": rounds, "first_step": first,
                 "last_step": last, "agents": agents, "exact": exact},
    )


def _retry_storms(run: Run, t: Mapping[str, float]) -> list[Detection]:
    need = int(t["retry_storm_min"])
    failing: dict[str, list[Step]] = {}
    storms: list[tuple[str, list[Step]]] = []

    def close(tool: str) -> None:
        streak = failing.pop(tool, [])
        if len(streak) >= need:
            storms.append((tool, streak))

    for step in compress(run.steps, map(_TOOL_CALLS, run.steps)):  # a step without calls changes nothing
        if need > 0 and not failing and step.status != "error" and not any(map(_ERROR, step.tool_calls)):
            continue  # nothing failed here and nothing is failing: closing empty streaks records nothing
        failed = set(_failed_tools(step))
        for call in step.tool_calls:
            if call.name not in failed:
                close(call.name)
        for tool in failed:
            failing.setdefault(tool, []).append(step)
    for tool in list(failing):
        close(tool)
    detections = []
    for tool, streak in sorted(storms, key=lambda ts: ts[1][0].index):
        agents = list(dict.fromkeys(s.agent for s in streak))
        error = next((c.error for c in streak[-1].tool_calls if c.error), None) or streak[-1].error or ""
        n = len(streak)
        detections.append(Detection(
            type=SPEC.key, f_code=SPEC.f_code, confidence=round(min(0.97, 0.65 + 0.05 * (n - need + 1)), 4),
            severity="high" if n >= 2 * need else "medium",
            explanation=(f"Retry storm: {', '.join(agents)} called the tool '{tool}' {n} times between "
                         f"steps {streak[0].index} and {streak[-1].index} and every call failed "
                         f"({_text.truncate(error, 80) or 'error'}). Add a retry policy with backoff and a "
                         f"cap, and surface the error instead of retrying blindly."),
            evidence=[_text.evidence(s, f"{tool} failed: {s.error or error}")
                      for s in (streak[0], streak[-1])],
            detector_version=SPEC.version,
            details={"method": "retry_storm", "tool": tool, "failures": n, "first_step": streak[0].index,
                     "last_step": streak[-1].index, "agents": agents},
        ))
    return detections


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    if len(run.steps) < 2:
        return []
    sigs = _Signatures(run.steps)
    storms = _retry_storms(run, thresholds)
    # a storm of failing calls is reported once, as a retry storm, not also as a repeat
    accepted: list[tuple[int, int, int]] = [
        (0, d.details["first_step"], d.details["last_step"]) for d in storms]
    for period, first, last in sorted(_candidates(run, sigs, thresholds)):
        overlap = any(first <= b_last and a_first <= last for _, a_first, b_last in accepted)
        if not overlap:
            accepted.append((period, first, last))
    accepted.sort(key=lambda x: x[1])
    detections = [_loop_detection(run, sigs, period, first, last) for period, first, last in accepted
                  if period > 0]
    detections.extend(storms)
    detections.sort(key=lambda d: d.details["first_step"])
    return detections[:_MAX_DETECTIONS]
