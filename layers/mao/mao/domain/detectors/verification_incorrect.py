"""F14 Incorrect verification: a check is performed but passes a bad result.

A *pass claim* is a message that says a check succeeded ("all tests pass", "verified", "LGTM",
"approved", "the output matches"). It is wrong when the evidence in front of the checker says otherwise:

- the check's own tool output (inline calls, or tool steps right before the claim) reports failures;
- the claiming message itself quotes a failure or a mismatch ("expected 12, got 10 ... verified");
- a later test of the same kind fails before anything was changed;
- the run's known correct answer (ground truth) is absent from a final answer the check passed.

Zero-count wording ("0 failed", "no errors") is never read as a failure.
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
    key="verification_incorrect",
    name=mode("F14").name,
    version="1.0.0",
    f_code="F14",
    thresholds={
        "min_confidence": ThresholdSpec(0.55, 0.0, 1.0, "lowest confidence reported"),
        "lookback_tool_steps": ThresholdSpec(
            4, 1, 20, "tool steps before a claim that are its evidence", integer=True
        ),
    },
    fix_types=("verification_step", "grounding_check"),
)

_PASS = re.compile(
    r"\b(?:all (?:tests|checks|cases) (?:pass|passed|are passing|green)|tests? (?:pass|passed|passes|"
    r"are passing)|"
    r"verified|verification (?:passed|succeeded|successful|complete)|looks (?:good|correct|right)|lgtm|"
    r"approved?|checks? out|works (?:as expected|correctly|fine)|no (?:issues|problems|errors) found|"
    r"validated|matches (?:the )?expected|is correct|are correct|confirmed correct|passes (?:all|the))\b"
)
_PASS_GATE = (
    "pass",
    "verif",
    "look",
    "lgtm",
    "approv",
    "check",
    "works",
    "no issues",
    "no problems",
    "no errors",
    "validat",
    "match",
    "correct",
)
# Every _PASS phrase contains one of these whole words ("all tests pass" -> "tests", "looks good" ->
# "looks", "no issues found" -> "found"): a message with none of them claims no pass (see tx.word_runs).
_PASS_WORDS = frozenset({
    "tests", "checks", "cases", "test", "verified", "verification", "looks", "lgtm", "approve", "approved",
    "check", "works", "found", "validated", "expected", "correct", "passes",
})
_EXPECTED = re.compile(
    r"expected\W{0,3}(-?\d[\d,]*(?:\.\d+)?)[^.\n]{0,40}?\b(?:got|but was|actual|returned|received)\W{0,3}"
    r"(-?\d[\d,]*(?:\.\d+)?)"
)
_OWN_FAILURE = re.compile(
    r"\b[1-9]\d* (?:tests? )?(?:failed|failing|failures?|errors?)\b|\bfailed:|traceback \(most recent|"
    r"assertionerror|exit code [1-9]|\b(?:tests?|checks?|build) (?:failed|fails|is failing|are failing)\b"
)
_TESTISH = re.compile(r"test|pytest|check|lint|verif|valid|ci\b|build")


# Literal parts every match of _OWN_FAILURE contains: a message with none of them reports no failure.
_OWN_FAILURE_PARTS = ("fail", "error", "traceback", "exit code")


def _speaks(step: Step) -> bool:
    return tx.is_speaker(step)


@lru_cache(maxsize=4096)
def _testish(name: str) -> bool:
    """Whether a tool (or tool agent) name reads as a test or check (once per name)."""
    return _TESTISH.search(name.lower()) is not None


def _pass_claim(step: Step) -> re.Match[str] | None:
    if not tx.any_word(step.content, _PASS_WORDS):
        return None
    low = tx.lower(step.content)
    if not any(g in low for g in _PASS_GATE):
        return None
    for m in _PASS.finditer(low):
        if not tx.negated_before(low, m.start(), 16):
            return m
    return None


def _tool_failures(run: Run, step: Step, lookback: int) -> list[tuple[Step, str]]:
    """Failures in the tool output the claim rests on; a failure later re-run successfully is superseded."""
    found: list[tuple[Step, str]] = []
    passed: set[str] = set()

    def visit(owner: Step, name: str, text: str, errored: bool) -> None:
        m = tx.failure_match(text)
        if m is None and not errored:
            passed.add(name)
        elif name not in passed:
            found.append(
                (owner, tx.quote_match(text, m.start(), m.end()) if m else tx.quote(text or "error"))
            )

    for call in reversed(step.tool_calls):
        visit(step, call.name, tx.tool_text(call), bool(call.error))
    steps = run.steps
    for i in range(step.index - 1, max(-1, step.index - 1 - lookback), -1):  # no copy of the run per claim
        prev = steps[i]
        if not tx.is_tool_step(prev):
            if _speaks(prev) and prev.agent == step.agent:
                for call in reversed(prev.tool_calls):
                    visit(prev, call.name, tx.tool_text(call), bool(call.error))
            break
        calls = prev.tool_calls or []
        if calls:
            for call in reversed(calls):
                text = "\n".join([prev.content[: tx.MAX_CHARS], tx.tool_text(call)])
                visit(prev, call.name, text, bool(call.error) or prev.status == "error")
        else:
            visit(prev, prev.agent, prev.content[: tx.MAX_CHARS], prev.status == "error" or bool(prev.error))
    return found


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    min_conf = float(thresholds.get("min_confidence", 0.55))
    lookback = int(thresholds.get("lookback_tool_steps", 4))
    detections: list[Detection] = []
    last_claim: tuple[Step, re.Match[str]] | None = None
    speaks = [tx.is_speaker(s) for s in run.steps]  # by position, also read by the look-ahead
    seen: dict[int, str | None] = {}  # tool steps the look-ahead has judged
    for step, spoke in zip(run.steps, speaks, strict=True):
        if not spoke:
            continue
        claim = _pass_claim(step)
        if claim is None:
            continue
        last_claim = (step, claim)
        failures = _tool_failures(run, step, lookback)
        if failures:
            ev = [tx.evidence(s, q, "failure the check saw") for s, q in failures[:3]]
            ev.append(tx.evidence(step, _claim_quote(step, claim), "pass claim"))
            detections.append(_make(step, 0.85, "passed a check whose own output reports failures", ev))
            continue
        low = tx.lower(step.content)
        mismatch = _EXPECTED.search(low) if "expected" in low else None
        if mismatch and _num(mismatch.group(1)) != _num(mismatch.group(2)):
            q = tx.quote_match(step.content, mismatch.start(), mismatch.end())
            detections.append(
                _make(
                    step,
                    0.8,
                    "reported a pass while quoting a mismatch between expected and actual values",
                    [tx.evidence(step, q, "mismatch"), tx.evidence(step, _claim_quote(step, claim), "pass claim")],
                )
            )
            continue
        own = _OWN_FAILURE.search(low) if any(p in low for p in _OWN_FAILURE_PARTS) else None
        if own and not tx.negated_before(low, own.start()) and _failure_is_current(low, own.start()):
            q = tx.quote_match(step.content, own.start(), own.end())
            detections.append(
                _make(
                    step,
                    0.6,
                    "reported a pass in the same message that reports a failure",
                    [tx.evidence(step, q, "failure"), tx.evidence(step, _claim_quote(step, claim), "pass claim")],
                )
            )
            continue
        later = _later_failure(run, step, speaks, seen)
        if later is not None:
            fail_step, q = later
            detections.append(
                _make(
                    step,
                    0.7,
                    f"passed a result that failed the same kind of check at step "
                    f"{fail_step.index} with nothing changed in between",
                    [
                        tx.evidence(step, _claim_quote(step, claim), "pass claim"),
                        tx.evidence(fail_step, q, "later failure"),
                    ],
                )
            )
    if not detections and last_claim is not None:
        wrong = _wrong_final(run, last_claim)
        if wrong is not None:
            detections.append(wrong)
    return [d for d in detections if d.confidence >= min_conf]


def _claim_quote(step: Step, claim: re.Match[str]) -> str:
    """The sentence of the pass claim (quoted only for a detection: most claims are fine)."""
    return tx.quote_match(step.content, claim.start(), claim.end())


_FIXED = re.compile(
    r"\b(?:fixed|resolved|addressed|now pass|after (?:the )?fix|was failing|previously|"
    r"earlier|before the (?:fix|change))\b"
)


def _failure_is_current(low: str, start: int) -> bool:
    """A failure mentioned as history ('was failing, now fixed') does not contradict a pass."""
    return _FIXED.search(low) is None


def _later_failure(
    run: Run, claim: Step, speaks: list[bool] | None = None, seen: dict[int, str | None] | None = None
) -> tuple[Step, str] | None:
    """A later failing check of the same kind before anyone changed the work.

    ``speaks`` (by position) and ``seen`` (each tool step's failure quote, filled here) let the claims of
    one run share the work: their look-ahead windows overlap.
    """
    steps = run.steps
    for i in range(claim.index + 1, min(len(steps), claim.index + 30)):  # no slice copy per claim
        later = steps[i]
        if speaks[i] if speaks is not None else _speaks(later):
            if later.agent != claim.agent and (
                "```" in later.content
                or (later.tool_calls and not all(_testish(c.name) for c in later.tool_calls))
            ):
                return None  # someone changed the work; a later failure may be new
            continue
        if seen is None or i not in seen:
            quote = _check_failure(later)
            if seen is not None:
                seen[i] = quote
        else:
            quote = seen[i]
        if quote is not None:
            return later, quote
    return None


def _check_failure(step: Step) -> str | None:
    """The quoted failure of a test or check tool step (None: not a check, or it passed)."""
    if not _testish(step.tool_calls[0].name if step.tool_calls else step.agent):
        return None
    text = "\n".join([step.content[: tx.MAX_CHARS], *(tx.tool_text(c) for c in step.tool_calls)])
    m = tx.failure_match(text)
    return tx.quote_match(text, m.start(), m.end()) if m else None


def _norm(text: str) -> str:
    return " ".join(tx.words(text))


def _wrong_final(run: Run, claim: tuple[Step, re.Match[str]]) -> Detection | None:
    truth = (run.ground_truth or "").strip()
    if not truth or len(truth) > 60 or not run.final_output:
        return None
    final = next((s for s in reversed(run.steps) if _speaks(s) and s.content), None)
    if final is None or final.index < claim[0].index:
        return None
    if _norm(truth) in _norm(final.content):
        return None
    step, match = claim
    claim_q = _claim_quote(step, match)
    return _make(
        step,
        0.6,
        f"verified a final answer that does not contain the known correct answer ({tx.quote(truth, 60)})",
        [tx.evidence(step, claim_q, "pass claim"), tx.evidence(final, final.content, "final answer")],
    )


def _num(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def _make(step: Step, confidence: float, reason: str, evidence: list[Evidence]) -> Detection:
    explanation = (
        f"{step.agent} at step {step.index} {reason}. Make the check fail closed: a verification "
        f"must quote the evidence it passed on, and any failure in that evidence blocks approval."
    )
    return Detection(
        type=SPEC.key,
        f_code=SPEC.f_code,
        confidence=round(confidence, 4),
        severity="high" if confidence >= 0.8 else tx.severity_for(confidence),
        explanation=explanation,
        evidence=evidence,
        detector_version=SPEC.version,
        details={"agent": step.agent},
    )
