"""F3 Step repetition: an agent repeats a step it already did (message, tool call) without progress.

Unlike ``loop`` (a sustained run of back-to-back repeats), this counts every step that duplicates
one of the same agent's recent steps, wherever it occurs: re-issuing the same instruction, re-running
the same tool call with the same result, re-sending the same answer. Each step is compared with the
agent's last ``window`` steps only, so the work is linear in the run.

Not repetition: short acknowledgements ("OK", "Approved."), a tool call whose arguments or result
changed (pagination, polling that moves), numbers that changed (batch 3 -> batch 4), and steps whose
recorded state changed. A missing or empty state is not read as "no progress".
"""

from __future__ import annotations

from collections.abc import Mapping

from mao.domain.detectors import _text
from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Run, Step
from mao.domain.taxonomy import mode

SPEC = DetectorSpec(
    key="step_repetition",
    name=mode("F3").name,
    version="1.0.0",
    f_code="F3",
    thresholds={
        "min_repeats": ThresholdSpec(2, 1, 50, "repeated steps needed for a detection", integer=True),
        "similarity": ThresholdSpec(0.85, 0.5, 1.0, "word Jaccard at which two steps count as the same"),
        "min_tokens": ThresholdSpec(6, 1, 100, "messages with fewer distinct words never count as repeats",
                                    integer=True),
        "window": ThresholdSpec(8, 2, 100, "earlier steps of the same agent compared with each step",
                                integer=True),
    },
    fix_types=("prompt_patch", "loop_guard", "termination_condition"),
)


_USER_ROLES = ("user", "human")  # as _text.is_user


def _signature(step: Step) -> str:
    if not step.tool_calls:
        return step.content
    calls = "; ".join(f"{c.name}({str(c.arguments)[:300]}) -> {str(c.result)[:300]} {c.error or ''}"
                      for c in step.tool_calls)
    if step.content and calls:
        return f"{step.content}\n{calls}"
    return step.content or calls


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    threshold = float(thresholds["similarity"])
    min_tokens = int(thresholds["min_tokens"])
    window = int(thresholds["window"])
    # Only steps with the same numbers can repeat each other, so earlier steps are bucketed by agent and
    # numbers; a bucket keeps the agent's last ``window`` such steps (by position in the run), each step
    # tagged with the agent's step count. A bucket of one step is the bare position: most steps open a
    # bucket of their own, and ints and strings cost the garbage collector nothing on long runs.
    steps = run.steps
    recent: dict[str, dict[str, int | list[int]]] = {}  # agent -> number key -> position(s)
    ordinal_at = [0] * len(steps)
    sig_at = [""] * len(steps)
    counts: dict[str, int] = {}
    repeats: list[tuple[Step, Step, str]] = []  # (repeat, original, signature)
    word_set, number_key = _text.word_set, _text.number_key
    for i, step in enumerate(steps):
        if step.role in _USER_ROLES:
            continue
        if step.tool_calls:
            sig = _signature(step)
            if not sig:
                continue
        else:  # a message: its text, if it has enough distinct words to count as a repeat
            sig = step.content
            if not sig or len(word_set(sig)) < min_tokens:
                continue
        agent = step.agent
        ordinal = counts[agent] = counts.get(agent, 0) + 1
        ordinal_at[i], sig_at[i] = ordinal, sig
        buckets = recent.get(agent)
        if buckets is None:
            recent[agent] = buckets = {}
        key = number_key(sig)
        bucket = buckets.get(key)
        if bucket is None:
            buckets[key] = i
            continue
        earlier_steps = [bucket] if isinstance(bucket, int) else bucket
        for j in reversed(earlier_steps):
            if ordinal - ordinal_at[j] > window:
                break
            earlier = steps[j]
            if not _text.made_progress(earlier, step) and _text.near_duplicate(sig, sig_at[j], threshold):
                repeats.append((step, earlier, sig))
                break
        earlier_steps.append(i)
        if len(earlier_steps) > window:  # keep the last ``window`` steps, like a bounded deque
            del earlier_steps[0]
        buckets[key] = earlier_steps
    if len(repeats) < int(thresholds["min_repeats"]):
        return []
    by_agent: dict[str, list[tuple[Step, Step, str]]] = {}
    for item in repeats:
        by_agent.setdefault(item[0].agent, []).append(item)
    agent, worst = max(by_agent.items(), key=lambda kv: (len(kv[1]), -kv[1][0][0].index))
    first_repeat, original, sig = worst[0]
    exact = sum(1 for r, o, s in repeats if _text.fingerprint(s) == _text.fingerprint(_signature(o)))
    n = len(repeats)
    where = ", ".join(str(r.index) for r, _, _ in repeats[:8]) + (", ..." if n > 8 else "")
    others = sorted({a for a in by_agent if a != agent})
    also = f" Other agents repeating themselves: {', '.join(others)}." if others else ""
    confidence = min(0.95, 0.5 + 0.1 * n + 0.05 * (exact / n))
    evidence = [_text.evidence(original, sig, note="first occurrence"),
                *[_text.evidence(r, s, note=f"repeats step {o.index}") for r, o, s in worst[:3]]]
    return [Detection(
        type=SPEC.key, f_code=SPEC.f_code, confidence=round(confidence, 4),
        severity="high" if n >= 4 else "medium",
        explanation=(f"Step repetition: {n} step(s) repeat earlier work without progress (steps {where}). "
                     f"{agent} repeated {_text.step_label(original)} at step {first_repeat.index} "
                     f"({len(worst)} repeat(s) by this agent).{also} Tell the agent to check what it already "
                     f"did before acting, or add a guard that stops identical repeated steps."),
        evidence=evidence, detector_version=SPEC.version,
        details={"repeats": n, "exact_repeats": exact, "agents": sorted(by_agent),
                 "steps": [r.index for r, _, _ in repeats][:50]},
    )]
