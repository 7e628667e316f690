"""The attribution scorer's weights: the one place they live.

Fitted with ``mao eval attribution --fit`` (conditional logit, L2 0.05) on the Who&When dev half and
rounded; the command's ``--cv`` option refits them per fold to show how they generalise.
"""

from __future__ import annotations

STEP_WEIGHTS: dict[str, float] = {
    "first": -0.196,
    "early": -0.257,
    "position": -0.516,
    "agent_first": -0.141,
    "handoff": 0.119,
    "short": -0.385,
    "length": 0.386,
    "code": 0.381,
    "error_after": 0.409,
    "first_error_after": 0.049,
    "failure_after": -0.024,
    "first_failure_after": -0.09,
    "reports_failure": 0.038,
    "conclusive": 0.131,
    "has_numbers": 0.799,
    "ungrounded": 0.313,
    "accepts": -0.086,
    "conclusion_overlap": 0.465,
    "conclusion_origin": 0.254,
    "is_conclusion": -0.12,
    "corrected_later": 0.231,
    "loop_start": -0.254,
    "repeats": -0.656,
    "matches_expected": -0.104,
}
AGENT_WEIGHTS: dict[str, float] = {
    "top_worker": 0.482,
    "hub": -0.114,
    "top": 0.193,
    "corrected": 0.282,
    "strongest_step": 0.508,
}

DETECTION_WEIGHT = 1.5  # score added per unit of detector confidence on a step (not fitted: no labels)
TOP_K = 3  # ranked alternatives returned
