"""The attribution scorer's weights: the one place they live.

Fitted with ``mao eval attribution --fit`` (conditional logit, L2 0.05) on the Who&When dev half and
rounded; the command's ``--cv`` option refits them per fold to show how they generalise.
"""

from __future__ import annotations

STEP_WEIGHTS: dict[str, float] = {
    "first": -0.202,
    "early": -0.265,
    "position": -0.51,
    "agent_first": -0.144,
    "handoff": 0.114,
    "short": -0.373,
    "length": 0.376,
    "code": 0.374,
    "error_after": 0.42,
    "first_error_after": 0.044,
    "failure_after": -0.022,
    "first_failure_after": -0.07,
    "reports_failure": 0.042,
    "conclusive": 0.124,
    "has_numbers": 0.785,
    "ungrounded": 0.293,
    "accepts": -0.088,
    "conclusion_overlap": 0.507,
    "conclusion_origin": 0.089,
    "is_conclusion": -0.114,
    "corrected_later": 0.223,
    "loop_start": -0.257,
    "repeats": -0.658,
    "matches_expected": -0.122,
}
AGENT_WEIGHTS: dict[str, float] = {
    "top_worker": 0.541,
    "hub": -0.191,
    "top": 0.316,
    "corrected": 0.308,
}

DETECTION_WEIGHT = 1.5  # score added per unit of detector confidence on a step (not fitted: no labels)
TOP_K = 3  # ranked alternatives returned
