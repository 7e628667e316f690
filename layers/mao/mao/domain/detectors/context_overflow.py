"""Context overflow: a step's prompt fills (or exceeds) its model's context window.

Uses the step's reported input tokens, or counts its input text with the model's tokenizer when no
count was reported. The window comes from the price table; a model not in the table is skipped
(no guessing).
"""

from __future__ import annotations

from collections.abc import Mapping

from mao.domain import pricing, tokens
from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Evidence, Run

SPEC = DetectorSpec(
    key="context_overflow",
    name="Context window overflow",
    version="1.0.0",
    f_code=None,
    thresholds={
        "usage_ratio": ThresholdSpec(0.9, 0.5, 1.0, "share of the context window at which a step is flagged"),
    },
    fix_types=("context_pruning", "summarization", "model_upgrade"),
)


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    ratio_min = float(thresholds["usage_ratio"])
    detections: list[Detection] = []
    for step in run.steps:
        if not step.model:
            continue
        info = pricing.lookup(step.model)
        if info is None or not info.context_window:
            continue
        approximate = False
        used = step.input_tokens
        if used is None:
            if not step.input:
                continue
            count = tokens.count_tokens(step.input, step.model)
            used, approximate = count.tokens, count.approximate
        ratio = used / info.context_window
        if ratio < ratio_min:
            continue
        over = ratio > 1.0
        detections.append(Detection(
            type=SPEC.key,
            f_code=SPEC.f_code,
            confidence=round(min(0.99, 0.7 + 0.25 * min(1.0, (ratio - ratio_min) / max(1e-9, 1.0 - ratio_min)))
                             * (0.9 if approximate else 1.0), 4),
            severity="critical" if over else ("high" if ratio >= 0.95 else "medium"),
            explanation=(f"Step {step.index} ({step.agent}) sent {used:,} input tokens to {info.id}, "
                         f"{ratio:.0%} of its {info.context_window:,}-token window"
                         + (" (approximate count)" if approximate else "")
                         + (": the prompt overflows and will be truncated or rejected." if over else
                            ": little room is left for the answer.")
                         + " Summarise or prune history and tool output, or use a larger-window model."),
            evidence=[Evidence(ref=step.ref, quote=(step.input or step.content)[:200], step_index=step.index,
                               note=f"{used} tokens / {info.context_window}")],
            detector_version=SPEC.version,
            details={"model": info.id, "input_tokens": used, "context_window": info.context_window,
                     "usage_ratio": round(ratio, 4), "approximate": approximate},
        ))
    return detections
