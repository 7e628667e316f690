"""F15 grounding failure: a step states facts that the sources read earlier in the run do not support.

Sources are tool results and retrieved content that appeared before the step. The step's numbers,
dates, names, quotes and citations are looked up in them (see ``security.grounding``); a step with
enough unsupported or contradicted facts and a low grounding score is reported.
"""

from __future__ import annotations

from collections.abc import Mapping

from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Evidence, Run
from mao.domain.security.step_grounding import step_grounding

SPEC = DetectorSpec(
    key="grounding_failure",
    name="Grounding failure",
    version="1.0.0",
    f_code="F15",
    thresholds={
        "min_unsupported": ThresholdSpec(2, 1, 50, "unsupported or contradicted facts in one step", integer=True),
        "max_grounding": ThresholdSpec(0.5, 0.0, 1.0, "grounding score at or below which a step is flagged"),
    },
    fix_types=("grounding_check", "citation_requirement", "retrieval_improvement"),
)


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    need = int(thresholds["min_unsupported"])
    max_grounding = float(thresholds["max_grounding"])
    detections: list[Detection] = []
    checks = step_grounding(run)
    for statement in checks.statements(min_problems=need):  # the others have too few facts that could fail
        step, n_sources = statement.step, statement.n_docs
        report = checks.report(step.content, step.index)
        bad = report.unsupported + report.contradicted
        if bad < need or report.grounding_score > max_grounding:
            continue
        problems = report.problem_claims
        facts = [f.text for c in problems for f in c.facts if f.status in ("unsupported", "contradicted")]
        detections.append(Detection(
            type=SPEC.key,
            f_code=SPEC.f_code,
            confidence=round(min(0.95, 0.55 + 0.1 * bad) * (1.0 - 0.3 * report.grounding_score), 4),
            severity="high" if report.contradicted else "medium",
            explanation=(f"Step {step.index} ({step.agent}) states {bad} fact(s) that the {n_sources} earlier "
                         f"source(s) do not support ({', '.join(facts[:4])}); grounding score "
                         f"{report.grounding_score:.2f}. Require answers to cite the tool results they use."),
            evidence=[Evidence(ref=step.ref, quote=c.claim[:300], step_index=step.index, note=c.status)
                      for c in problems[:3]],
            detector_version=SPEC.version,
            details={"grounding_score": round(report.grounding_score, 4), "unsupported": report.unsupported,
                     "contradicted": report.contradicted, "checked_facts": report.checked_facts,
                     "source_steps": checks.sources.source_steps(n_sources)},
        ))
    return detections
