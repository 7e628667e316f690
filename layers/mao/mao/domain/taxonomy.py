"""MAO's failure taxonomy: the 14 MAST modes in the paper's order plus two grounding modes.

Code, MAST id and name live together in this one table so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FailureMode:
    code: str
    mast_id: str | None
    name: str
    category: str
    description: str


FAILURE_MODES: tuple[FailureMode, ...] = (
    FailureMode("F1", "1.1", "Disobey task specification", "specification",
                "output ignores a stated constraint (format, language, limit, scope)"),
    FailureMode("F2", "1.2", "Disobey role specification", "specification",
                "an agent does another role's job"),
    FailureMode("F3", "1.3", "Step repetition", "specification",
                "the same step, tool call or message is repeated without progress"),
    FailureMode("F4", "1.4", "Loss of conversation history", "specification",
                "an agent acts as if earlier turns never happened"),
    FailureMode("F5", "1.5", "Unaware of termination conditions", "specification",
                "the run goes on after the goal is met, or never checks whether it is met"),
    FailureMode("F6", "2.1", "Conversation reset", "inter-agent misalignment",
                "the dialogue restarts from scratch mid-task, losing progress"),
    FailureMode("F7", "2.2", "Fail to ask for clarification", "inter-agent misalignment",
                "an agent proceeds on an ambiguous or missing input instead of asking"),
    FailureMode("F8", "2.3", "Task derailment", "inter-agent misalignment",
                "the work drifts away from the task's goal"),
    FailureMode("F9", "2.4", "Information withholding", "inter-agent misalignment",
                "an agent has a finding that it does not pass on"),
    FailureMode("F10", "2.5", "Ignored other agent's input", "inter-agent misalignment",
                "a message or correction from another agent is not acted on"),
    FailureMode("F11", "2.6", "Reasoning-action mismatch", "inter-agent misalignment",
                "the stated plan or reasoning and the action taken disagree"),
    FailureMode("F12", "3.1", "Premature termination", "task verification",
                "the run ends before the task is done"),
    FailureMode("F13", "3.2", "No or incomplete verification", "task verification",
                "results are accepted without checking them"),
    FailureMode("F14", "3.3", "Incorrect verification", "task verification",
                "a check is performed but wrongly passes a bad result"),
    FailureMode("F15", None, "Grounding failure", "grounding",
                "claims not supported by the sources or tool results the agent had"),
    FailureMode("F16", None, "Retrieval quality failure", "grounding",
                "retrieved context is irrelevant, missing or stale for the question"),
)

BY_CODE: dict[str, FailureMode] = {m.code: m for m in FAILURE_MODES}
BY_MAST_ID: dict[str, FailureMode] = {m.mast_id: m for m in FAILURE_MODES if m.mast_id}


def mode(code: str) -> FailureMode:
    try:
        return BY_CODE[code]
    except KeyError:
        raise KeyError(f"unknown failure code {code!r}; known: {', '.join(BY_CODE)}") from None
