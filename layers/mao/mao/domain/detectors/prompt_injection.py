"""Prompt injection: instructions smuggled into a run through user input, messages or tool output.

Every step's input, content and tool results are checked with the security injection checker
(normaliser + bundled linear model + interpretable rules), the run's distinct texts scored in one
batch. Text the agents *read* (tool results, retrieved documents) is checked as content, where an
injection is an indirect one. Evidence is the step reference and the matched passage.
"""

from __future__ import annotations

from collections.abc import Mapping

from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Evidence, Run
from mao.domain.security.injection import check, scores_many
from mao.domain.security.injection_model import load
from mao.domain.security.run_text import scanned_texts

SPEC = DetectorSpec(
    key="prompt_injection",
    name="Prompt injection (direct and indirect)",
    version="1.0.0",
    f_code=None,
    thresholds={
        "min_score": ThresholdSpec(0.9, 0.5, 0.999, "injection score at or above which a text is flagged "
                                   "(texts the checker itself does not flag are never reported)"),
        "max_detections": ThresholdSpec(10, 1, 100, "most detections reported per run", integer=True),
    },
    fix_types=("input_sanitization", "tool_output_isolation", "prompt_hardening"),
)


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    # A text the checker does not flag (score at or below the model's threshold, e.g. an agent message
    # capped there for want of a corroborating pattern) is never reported: min_score only adds strictness.
    model_threshold = load().threshold
    min_score = float(thresholds["min_score"])
    limit = int(thresholds["max_detections"])
    scanned = [list(scanned_texts(step)) for step in run.steps]
    # Runs repeat texts (the same context handed to several steps, the same tool output read twice):
    # each distinct (text, context) is scored once, all of them in one batch.
    distinct = list(dict.fromkeys((text, context) for texts in scanned for context, _, text in texts))
    scores = dict(zip(distinct, scores_many(distinct), strict=True))
    detections: list[Detection] = []
    for step, texts in zip(run.steps, scanned, strict=True):
        best = None
        for context, label, text in texts:
            score = scores[(text, context)]
            if score >= min_score and score > model_threshold and (best is None or score > best[0]):
                best = (score, label, text, context)
        if best is None:
            continue
        _, label, text, context = best
        result = check(text, context)  # the full result (attack type, evidence) of the few flagged texts
        quotes = [e.quote for e in result.evidence if e.quote] or [text[:200]]
        attack = result.attack_type or "suspicious_instruction"
        detections.append(Detection(
            type=SPEC.key,
            f_code=SPEC.f_code,
            confidence=round(min(1.0, result.score), 4),
            severity="critical" if attack == "indirect_injection" or result.score >= 0.97 else "high",
            explanation=(f"Step {step.index} ({step.agent}) carries a likely prompt injection "
                         f"({attack.replace('_', ' ')}) in its {label}"
                         + (f", disguised with {', '.join(result.obfuscation)}" if result.obfuscation else "")
                         + ". Treat that text as data, not instructions: isolate or sanitise it before it "
                           "reaches a model."),
            evidence=[Evidence(ref=step.ref, quote=q[:300], step_index=step.index, note=label)
                      for q in quotes[:3]],
            detector_version=SPEC.version,
            details={"attack_type": attack, "attack_types": result.attack_types, "score": round(result.score, 4),
                     "model_score": round(result.model_score, 4), "where": label,
                     "obfuscation": result.obfuscation},
        ))
        if len(detections) >= limit:
            break
    return detections
