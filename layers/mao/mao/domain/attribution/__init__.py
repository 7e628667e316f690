"""Failure attribution: who broke a run, and at which step (see :func:`attribute`)."""

from mao.domain.attribution.result import Attribution, RankedAgent, RankedStep
from mao.domain.attribution.scorer import attribute

__all__ = ["Attribution", "RankedAgent", "RankedStep", "attribute"]
