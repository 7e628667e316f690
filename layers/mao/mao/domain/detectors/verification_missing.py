"""F13 No or incomplete verification: results are accepted without being checked.

Two signals:

- an agent says it skips the check ("no need to run the tests", "assuming it works", "we can verify
  later") and no check happens afterwards;
- the run produces an artifact (code, a write/deploy/send action, a computed final answer) and then
  accepts it (approved, merged, final answer, task complete) with no check in between: no test, lint,
  run or validation tool call, no tool result read back, and no message that reports checking.

A reviewer who reads the code and reports what they checked counts as verification; a bare approval
does not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from mao.domain.detectors import _text_extra as tx
from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Evidence, Run, Step
from mao.domain.taxonomy import mode

SPEC = DetectorSpec(
    key="verification_missing",
    name=mode("F13").name,
    version="1.0.0",
    f_code="F13",
    thresholds={
        "min_confidence": ThresholdSpec(0.55, 0.0, 1.0, "lowest confidence reported"),
        "min_agent_steps": ThresholdSpec(
            2, 1, 50, "agent messages a run needs before the structural check", integer=True
        ),
    },
    fix_types=("verification_step",),
)

_SKIP = re.compile(
    r"\b(?:skip(?:ping|ped)? (?:the )?(?:tests?|testing|verification|validation|review|checks?|qa)|"
    r"no need to (?:test|verify|check|validate|run|review|double[- ]check)|"
    r"without (?:testing|verifying|checking|validating|running (?:it|the tests?|them))|"
    r"(?:assume|assuming|assumed) (?:it|that|this|the \w+) (?:works|is (?:correct|right|fine|accurate))|"
    r"(?:we|i|you) can (?:test|verify|check|validate) (?:\w+ ){0,3}later|"
    r"no time to (?:test|verify|check|validate)|trust(?:ing)? (?:the|its|their) (?:output|result|numbers|"
    r"answer)|"
    r"(?:didn'?t|did not|haven'?t|have not|won'?t) (?:run|test|verify|check|validate)\w*)\b"
)
_SKIP_GATE = (
    "skip",
    "no need",
    "without",
    "assum",
    "later",
    "no time",
    "trust",
    "didn",
    "did not",
    "haven",
    "have not",
    "won't",
    "wont",
)
# Every _SKIP phrase contains one of these whole words ("didn't run" -> "didn", "did not test" -> "not",
# "we can check it later" -> "later"), so a message with none of them skips no check (see tx.word_runs).
_SKIP_WORDS = frozenset({
    "skip", "skipping", "skipped", "need", "without", "assume", "assuming", "assumed", "later", "time",
    "trust", "trusting", "didn", "didnt", "not", "haven", "havent", "won", "wont",
})
_CHECK_WORDS = re.compile(
    r"\b(?:tests? (?:pass|passed|passes|ran|run|fail\w*|green|suite)|ran (?:the )?(?:tests?|code|script|"
    r"query|"
    r"checks?|linter|build)|verif(?:y|ied|ying|ication)|validat\w+|double[- ]check\w*|cross[- ]check\w*|"
    r"checked|checking|confirm(?:ed|s|ing)?|reproduc\w+|assert\w*|test cases?|unit tests?|edge cases?|"
    r"output:|exit code|re-?ran|inspected|reviewed|sanity[- ]check\w*|compared (?:against|with|to)|"
    r"matches the expected|spot[- ]check\w*|recomputed|recalculated|works (?:for|with|on) |tried (?:it|"
    r"with|on)|"
    r"tested|(?:two|three|\d+|one|an|a few|some) (?:issues?|bugs?|problems?)\b|found (?:a|an|one|\d+) "
    r"(?:issue|bug|problem)|edge[- ]case)"
)
_CHECK_TOOL = re.compile(
    r"test|pytest|lint|check|verif|valid|run|exec|eval|compile|assert|diff|compare|"
    r"query|"
    r"python|shell|bash|terminal|sandbox"
)
_ARTIFACT_TOOL = re.compile(
    r"write|create|deploy|commit|push|save|insert|send|publish|apply|migrate|upload|"
    r"post|merge|release|transfer|pay|delete|update"
)
# A final answer that is a figure (a count, a year, an amount) was computed or looked up and can be checked.
_FIGURE_ANSWER = re.compile(r"final answer\W{0,5}[^\n.]{0,40}?\d")
_ACCEPT = re.compile(
    r"\b(?:approved?|lgtm|looks good|ship it|merg(?:e|ed|ing)|final answer|terminate|"
    r"task (?:is )?complete\w*|"
    r"good to go|sign(?:ed)? off|accepted|deployed|released|publish(?:ed|ing)|done\.?$)"
)


@lru_cache(maxsize=4096)
def _check_tool(name: str) -> bool:
    """Whether a tool (or tool agent) name reads as a check: test, lint, run, query... (once per name)."""
    return _CHECK_TOOL.search(name.lower()) is not None


@lru_cache(maxsize=4096)
def _artifact_tool(name: str) -> bool:
    """Whether a tool name reads as producing an artifact: write, deploy, send... (once per name)."""
    return _ARTIFACT_TOOL.search(name.lower()) is not None


def _is_check(step: Step) -> bool:
    if tx.is_tool_step(step):
        return _check_tool(step.tool_calls[0].name if step.tool_calls else step.agent)
    if any(_check_tool(c.name) and c.result is not None for c in step.tool_calls):
        return True
    low = tx.lower(step.content)
    return any(not tx.negated_before(low, m.start()) for m in _CHECK_WORDS.finditer(low))


def _artifact(step: Step) -> bool:
    content = step.content
    if "```" in content:
        return True
    if any(_artifact_tool(c.name) for c in step.tool_calls):
        return True
    low = tx.lower(content)
    # The pattern starts with the literal "final answer": a text without it cannot match.
    return "final answer" in low and _FIGURE_ANSWER.search(low) is not None


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    min_conf = float(thresholds.get("min_confidence", 0.55))
    min_steps = int(thresholds.get("min_agent_steps", 2))
    steps = run.steps
    check_after: list[bool] = [False] * (len(steps) + 1)  # is there a check at or after index i
    for i in range(len(steps) - 1, -1, -1):
        check_after[i] = check_after[i + 1] or _is_check(steps[i])
    speaks = [tx.is_speaker(s) for s in steps]  # by position, read by both passes

    detections: list[Detection] = []
    for step, spoke in zip(steps, speaks, strict=True):
        if not spoke or not tx.any_word(step.content, _SKIP_WORDS):
            continue
        low = tx.lower(step.content)
        if not any(g in low for g in _SKIP_GATE):
            continue
        m = _SKIP.search(low)
        if m and not check_after[step.index + 1]:
            q = tx.quote_match(step.content, m.start(), m.end())
            detections.append(
                _make(
                    step,
                    0.8,
                    f'{step.agent} skips the check ("{tx.quote(q, 120)}") and no '
                    f"check happens later in the run",
                    [tx.evidence(step, q, "check skipped")],
                )
            )
            break

    if not detections and sum(speaks) >= min_steps:
        structural = _unchecked_acceptance(steps, speaks)
        if structural is not None:
            detections.append(structural)
    return [d for d in detections if d.confidence >= min_conf]


def _unchecked_acceptance(steps: list[Step], speaks: list[bool]) -> Detection | None:
    artifact: Step | None = None
    checked_before = False
    for step, spoke in zip(steps, speaks, strict=True):
        if artifact is None:
            if spoke and _artifact(step):
                artifact = step
                if checked_before and "```" not in step.content and not step.tool_calls:
                    return None  # an answer stated after a check of what it rests on
                # The message that produces a final answer may also accept it; look at it on its own.
                if not _ACCEPT.search(tx.lower(step.content)) or _is_check(step):
                    continue
            else:
                checked_before = checked_before or _is_check(step)
                continue
        if step is not artifact and _is_check(step):
            return None
        if spoke and _ACCEPT.search(tx.lower(step.content)):
            if step is artifact and _is_check(step):
                return None
            who = f"{artifact.agent} produced a result at step {artifact.index}"
            reason = (
                f"{who} and {step.agent} accepted it at step {step.index} with no test, run or check in "
                f"between"
            )
            ev = [tx.evidence(artifact, artifact.content, "unverified result")]
            if step is not artifact:
                ev.append(tx.evidence(step, step.content, "acceptance"))
            return _make(step, 0.62, reason, ev)
    return None


def _make(step: Step, confidence: float, reason: str, evidence: list[Evidence]) -> Detection:
    explanation = (
        f"Results were accepted without verification: {reason}. Add a verification step (run the "
        f"tests, re-compute the figure, check against the source) before accepting."
    )
    return tx.detection(SPEC, confidence, explanation, evidence, {"agent": step.agent})
