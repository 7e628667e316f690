"""What attribution returns: the responsible agent, the decisive step, why, and the runners-up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mao.domain.models import Evidence


@dataclass(frozen=True, slots=True)
class RankedAgent:
    agent: str
    probability: float

    def to_dict(self) -> dict[str, Any]:
        return {"agent": self.agent, "probability": round(self.probability, 4)}


@dataclass(frozen=True, slots=True)
class RankedStep:
    step: int  # 0-based index into the run's steps (messages / states)
    agent: str
    ref: str
    probability: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "agent": self.agent,
            "ref": self.ref,
            "probability": round(self.probability, 4),
        }


@dataclass(frozen=True, slots=True)
class Attribution:
    agent: str
    step: int
    ref: str
    confidence: float  # probability that both the agent and the step are right
    agent_confidence: float
    step_confidence: float  # probability of the step among the responsible agent's steps
    reason: str
    evidence: list[Evidence]
    top_agents: list[RankedAgent] = field(default_factory=list)
    top_steps: list[RankedStep] = field(default_factory=list)
    signals: dict[str, float] = field(default_factory=dict)  # the decisive step's strongest features
    method: str = "structural-lexical"
    version: str = "1"

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "step": self.step,
            "ref": self.ref,
            "confidence": round(self.confidence, 4),
            "agent_confidence": round(self.agent_confidence, 4),
            "step_confidence": round(self.step_confidence, 4),
            "reason": self.reason,
            "evidence": [e.to_dict() for e in self.evidence],
            "top_agents": [a.to_dict() for a in self.top_agents],
            "top_steps": [s.to_dict() for s in self.top_steps],
            "signals": {k: round(v, 4) for k, v in self.signals.items()},
            "method": self.method,
            "version": self.version,
        }
