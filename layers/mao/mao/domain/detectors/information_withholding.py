"""F9 Information withholding: an agent gets a finding (a tool error, a failed check) and hands off
without passing it on.

A *finding* is a failure signal in a tool result the agent received (an error field, an error status,
a traceback, "3 failed", "permission denied"...). It stays open until the same tool later succeeds
(the agent fixed it) or the agent mentions a failure in one of its messages. When the agent instead
hands the work on (the next speaker is another agent, or the run ends there) with a message that says
nothing about it, the finding was withheld. Retry notes ("let me try again") keep the finding open
rather than count as a report. Linear in the run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from mao.domain.detectors import _text_extra as tx
from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Evidence, Run, Step
from mao.domain.taxonomy import mode

SPEC = DetectorSpec(
    key="information_withholding",
    name=mode("F9").name,
    version="1.0.0",
    f_code="F9",
    thresholds={
        "min_confidence": ThresholdSpec(0.55, 0.0, 1.0, "lowest confidence reported"),
        "min_report_words": ThresholdSpec(
            4, 1, 50, "shortest message that counts as a hand-off report", integer=True
        ),
    },
    fix_types=("prompt_patch", "verification_step"),
)

_SUCCESS = re.compile(
    r"\b(?:success(?:ful(?:ly)?)?|succeeded|completed?|done|finished|all (?:good|set|green)|works?|working|"
    r"passed|passing|no (?:issues|problems)|ready|fixed|resolved|looks good|deployed|shipped|went fine)\b"
)
_RETRY = re.compile(
    r"\b(?:retry(?:ing)?|try(?:ing)? again|let me (?:try|check|fix|look|re-?run)"
    r"|i(?:'ll| will) (?:try|fix|retry|re-?run|investigate|look into)|another approach|re-?running"
    r"|trying (?:a|another|with))\b"
)


_FINDING_TERM = re.compile(r"\b\w*(?:error|exception)\b|\b[45]\d\d\b|\bcve-\d+-\d+\b")


@dataclass(slots=True)
class _Finding:
    step: Step
    tool: str
    quote: str
    terms: frozenset[str]


def _owner(step: Step, last_agent: str | None, speaking_agents: set[str]) -> str:
    if step.agent in speaking_agents or last_agent is None:
        return step.agent
    return last_agent


def _tool_name(step: Step) -> str:
    return step.tool_calls[0].name if step.tool_calls and step.tool_calls[0].name else step.agent


def _finding_from(step: Step, tool: str, text: str, errored: bool) -> _Finding | None:
    match = tx.failure_match(text)
    if match is None and not errored:
        return None
    if match is not None:
        q = tx.quote_match(text, match.start(), match.end())
    else:
        q = tx.quote(step.error or text or "error status")
    return _Finding(step=step, tool=tool, quote=q, terms=frozenset(_FINDING_TERM.findall(tx.lower(q))))


def _mentions(report_low: str, findings: list[_Finding]) -> bool:
    if tx.has_failure(report_low):
        return True
    return any(t in report_low for f in findings for t in f.terms)


def _next_speaker(run: Run, index: int) -> str | None:
    steps = run.steps
    for i in range(index + 1, len(steps)):  # walks from ``index`` without copying the rest of the run
        later = steps[i]
        if not tx.is_tool_step(later) and not tx.is_user_step(later) and later.role != "system":
            return later.agent
    return None


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    min_conf = float(thresholds.get("min_confidence", 0.55))
    min_words = int(thresholds.get("min_report_words", 4))
    speaking = {s.agent for s in run.steps if not tx.is_tool_step(s) and not tx.is_user_step(s)}
    open_findings: dict[str, list[_Finding]] = {}
    detections: list[Detection] = []
    last_agent: str | None = None

    def resolve(owner: str, tool: str) -> None:
        if open_findings.get(owner):  # an owner without open findings keeps none
            open_findings[owner] = [f for f in open_findings[owner] if f.tool != tool]

    for step in run.steps:
        if step.role == "system" or tx.is_user_step(step):
            continue
        if tx.is_tool_step(step):
            owner = _owner(step, last_agent, speaking)
            tool = _tool_name(step)
            text = "\n".join([step.content[: tx.MAX_CHARS], *(tx.tool_text(c) for c in step.tool_calls)])
            found = _finding_from(step, tool, text, step.status == "error" or bool(step.error))
            if found:
                open_findings.setdefault(owner, []).append(found)
            else:
                resolve(owner, tool)
            continue

        agent = step.agent
        last_agent = agent
        pending = open_findings.get(agent)
        if pending:
            low = tx.lower(step.content)
            if _mentions(low, pending):
                open_findings[agent] = []
            elif not step.tool_calls and not _RETRY.search(low) and len(tx.words(step.content)) >= min_words:
                nxt = _next_speaker(run, step.index)
                handoff = nxt is None or nxt != agent
                claims_success = bool(_SUCCESS.search(low))
                if handoff or claims_success:
                    det = _detection(step, pending, nxt, claims_success)
                    if det.confidence >= min_conf:
                        detections.append(det)
                    open_findings[agent] = []
        # Inline tool calls: their results are read after this message was written.
        for call in step.tool_calls:
            text = tx.tool_text(call)
            found = _finding_from(step, call.name or "tool", text, bool(call.error))
            if found:
                open_findings.setdefault(agent, []).append(found)
            else:
                resolve(agent, call.name or "tool")
    return detections


def _detection(
    report: Step, findings: list[_Finding], receiver: str | None, claims_success: bool
) -> Detection:
    confidence = 0.6 + (0.2 if claims_success else 0.0) + (0.1 if receiver is None else 0.0)
    confidence = min(0.95, confidence + 0.05 * (len(findings) - 1))
    first = findings[0]
    to = f"hands off to {receiver}" if receiver else "ends the run"
    claim = " and reports success" if claims_success else ""
    explanation = (
        f"{report.agent} received a failure from {first.tool} at step {first.step.index} "
        f'("{tx.quote(first.quote, 120)}") but at step {report.index} {to}{claim} without mentioning it. '
        f"Pass tool errors and failed checks on to the next agent, or fix them before handing off."
    )
    evidence = [
        Evidence(ref=f.step.ref, step_index=f.step.index, quote=f.quote, note=f"finding from {f.tool}")
        for f in findings[:3]
    ]
    evidence.append(tx.evidence(report, report.content, note="message that omits the finding"))
    return Detection(
        type=SPEC.key,
        f_code=SPEC.f_code,
        confidence=round(confidence, 4),
        severity="high" if claims_success else tx.severity_for(confidence),
        explanation=explanation,
        evidence=evidence,
        detector_version=SPEC.version,
        details={"findings": len(findings), "claims_success": claims_success, "receiver": receiver},
    )
