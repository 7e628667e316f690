"""Cost overrun: a run (or one step) costs more than its budget.

Step costs come from the ingested ``cost_usd`` or from the price table (exact/alias model match).
Steps whose cost is unknown are left out: the run total is then a lower bound, and a run with no
known cost makes no claim at all.
"""

from __future__ import annotations

from collections.abc import Mapping

from mao.domain import pricing
from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Evidence, Run, Step

SPEC = DetectorSpec(
    key="cost_overrun",
    name="Cost overrun",
    version="1.0.0",
    f_code=None,
    thresholds={
        "budget_usd": ThresholdSpec(1.0, 0.0001, 100_000.0, "budget for one run, in USD"),
        "step_budget_usd": ThresholdSpec(0.5, 0.0001, 100_000.0, "budget for one step, in USD"),
    },
    fix_types=("budget_guard", "model_downgrade", "context_pruning"),
)


def step_cost(step: Step) -> float | None:
    if step.cost_usd is not None:
        return step.cost_usd
    return pricing.cost_usd(step.model, step.input_tokens, step.output_tokens)


def _step_costs(steps: list[Step]) -> list[tuple[Step, float | None]]:
    """(step, ``step_cost(step)``) for every step, without a function call per step for ingested costs."""
    price = pricing.cost_usd
    return [(s, s.cost_usd if s.cost_usd is not None else price(s.model, s.input_tokens, s.output_tokens))
            for s in steps]


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    budget = float(thresholds["budget_usd"])
    step_budget = float(thresholds["step_budget_usd"])
    costs = _step_costs(run.steps)
    known = [(s, c) for s, c in costs if c is not None]
    if not known:
        return []
    unknown = [s for s, c in costs if c is None and (s.input_tokens or s.output_tokens)]
    total = sum(c for _, c in known)
    detections: list[Detection] = []
    if total > budget:
        top = sorted(known, key=lambda sc: -sc[1])[:3]
        detections.append(Detection(
            type=SPEC.key,
            f_code=SPEC.f_code,
            confidence=round(min(0.99, 0.75 + 0.2 * min(1.0, (total - budget) / budget)), 4),
            severity="high" if total > 2 * budget else "medium",
            explanation=(f"The run cost ${total:.4f}, over its ${budget:.4f} budget"
                         + (f" (a lower bound: {len(unknown)} steps have no known price)" if unknown else "")
                         + f". The costliest steps are {', '.join(str(s.index) for s, _ in top)}."),
            evidence=[Evidence(ref=s.ref, quote=f"{s.model}: ${c:.4f}", step_index=s.index, note="step cost")
                      for s, c in top],
            detector_version=SPEC.version,
            details={"total_usd": round(total, 6), "budget_usd": budget, "lower_bound": bool(unknown),
                     "priced_steps": len(known), "unpriced_steps": len(unknown)},
        ))
    for s, c in known:
        if c > step_budget:
            detections.append(Detection(
                type=SPEC.key,
                f_code=SPEC.f_code,
                confidence=round(min(0.99, 0.75 + 0.2 * min(1.0, (c - step_budget) / step_budget)), 4),
                severity="medium",
                explanation=(f"Step {s.index} ({s.agent}) cost ${c:.4f} on {s.model or 'an unknown model'}, "
                             f"over the ${step_budget:.4f} per-step budget."),
                evidence=[Evidence(ref=s.ref, quote=f"{s.model}: {s.input_tokens} in / {s.output_tokens} out",
                                   step_index=s.index, note="step cost")],
                detector_version=SPEC.version,
                details={"step_cost_usd": round(c, 6), "step_budget_usd": step_budget, "model": s.model},
            ))
    return detections
