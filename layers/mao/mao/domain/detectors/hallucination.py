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
from mao.domain.security.grounding import check_against
from mao.domain.security.run_text import is_source_step, run_sources

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
# Only a sentence sharing half of a claim's words can contradict its numbers: others are not compared.
MIN_OVERLAP = 0.5
MAX_CANDIDATES = 500


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    need = int(thresholds["min_findings"])
    detections: list[Detection] = []
    targets = [(s.index, s.ref, s.agent, s.content) for s in run.steps
               if s.content and not is_source_step(s) and s.role != "user"]
    if run.final_output and not any(t[3] == run.final_output for t in targets):
        targets.append((len(run.steps), "final_output", "final", run.final_output))
    indexed = run_sources(run) if targets else None
    for index, ref, agent, text in targets:
        if not indexed.docs_before(index):
            continue
        report = check_against(text, indexed.sources, indexed.before(index), min_overlap=MIN_OVERLAP,
                               max_candidates=MAX_CANDIDATES, ref_count=indexed.docs_before(index))
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
