"""Hallucination: an answer contradicts the run's sources or cites quotes and references they lack.

Stricter than grounding failure: only *contradicted* facts (a different number where the closest
source sentence gives one) and *fabricated* quotes or citations (quoted text, URLs, DOIs or ``[n]``
references absent from every source) count. Checked on the run's final output (or the last
assistant step) and every non-tool step, against all sources seen before it and the task text.
"""

from __future__ import annotations

from collections.abc import Mapping

from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Evidence, Run
from mao.domain.security.step_grounding import step_grounding

SPEC = DetectorSpec(
    key="hallucination",
    name="Hallucination (contradicted facts, fabricated quotes or citations)",
    version="1.0.0",
    f_code=None,
    thresholds={
        "min_findings": ThresholdSpec(1, 1, 20, "contradicted facts + fabricated quotes/citations", integer=True),
    },
    fix_types=("grounding_check", "citation_requirement"),
)

_FABRICATED_KINDS = ("quote", "citation")


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    need = int(thresholds["min_findings"])
    detections: list[Detection] = []
    checks = step_grounding(run)
    # Statements whose bound is lower have too few facts that could count.
    targets = [(s.step.index, s.step.ref, s.step.agent, s.step.content) for s in checks.statements(min_findings=need)]
    final = run.final_output
    if final and not any(s.content == final for s in checks.sources.statements):
        index = len(run.steps)
        if checks.sources.docs_before(index) and checks.bound(final, index).findings >= need:
            targets.append((index, "final_output", "final", final))
    for index, ref, agent, text in targets:
        report = checks.report(text, index)
        findings = [(c, f) for c in report.claims for f in c.facts
                    if f.status == "contradicted" or (f.status == "unsupported" and f.kind in _FABRICATED_KINDS)]
        if len(findings) < need:
            continue
        contradicted = sum(f.status == "contradicted" for _, f in findings)
        detections.append(Detection(
            type=SPEC.key,
            f_code=SPEC.f_code,
            confidence=round(min(0.95, 0.6 + 0.1 * len(findings)), 4),
            severity="high" if contradicted else "medium",
            explanation=(f"{'The final output' if ref == 'final_output' else f'Step {index} ({agent})'} "
                         f"has {contradicted} fact(s) contradicting the sources and "
                         f"{len(findings) - contradicted} quote(s)/citation(s) found in none of them: "
                         + "; ".join(f"{f.kind} '{f.text[:60]}'" for _, f in findings[:4]) + "."),
            evidence=[Evidence(ref=ref, quote=c.claim[:300], step_index=index if index < len(run.steps) else None,
                               note=(f"{f.status} {f.kind}" + (f"; source says: {f.source_quote[:150]}"
                                                               if f.source_quote else "")))
                      for c, f in findings[:3]],
            detector_version=SPEC.version,
            details={"contradicted": contradicted, "fabricated": len(findings) - contradicted,
                     "grounding_score": round(report.grounding_score, 4)},
        ))
    return detections
