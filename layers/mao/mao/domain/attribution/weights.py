"""The attribution scorer's weights: the one place they live.

Fitted with ``mao eval attribution --fit`` (conditional logit, L2 0.3) on the Who&When dev half and
rounded; the command's ``--cv`` option refits them per fold to show how they generalise. The strong L2
keeps every weight small: with about a hundred labelled runs, fewer and gentler features transfer
better to systems the weights never saw than a sharper fit does.
"""

from __future__ import annotations

STEP_WEIGHTS: dict[str, float] = {
    "position": -0.147,
    "agent_first": -0.001,
    "short": -0.171,
    "length": 0.124,
    "code": 0.178,
    "error_after": 0.143,
    "first_error_after": 0.051,
    "first_failure_after": 0.009,
    "reports_failure": 0.031,
    "has_numbers": 0.29,
    "new_numbers": 0.174,
    "ungrounded": 0.102,
    "conclusion_overlap": 0.151,
    "conclusion_origin": 0.07,
    "is_conclusion": -0.054,
    "corrected_later": 0.052,
    "loop_start": -0.049,
    "repeats": -0.17,
    "matches_expected": -0.006,
}
AGENT_WEIGHTS: dict[str, float] = {
    "top_worker": 0.321,
    "corrected": 0.075,
    "strongest_step": 0.134,
}

# Score added per unit of detector confidence on a step. Measured on the Who&When dev half through the
# analysis service's path (detections from every detector passed in): 1.5 lowered exact match from
# 57.6% / 29.3% to 50.0% / 26.1%, and any positive weight cost step accuracy; today's detections are
# reported next to the attribution but do not move it until labelled data shows that they help.
DETECTION_WEIGHT = 0.0
TOP_K = 3  # ranked alternatives returned
