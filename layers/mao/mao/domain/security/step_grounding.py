"""Each step's grounding check against what it could have read, done once per run for every detector.

The grounding failure and hallucination detectors check the same steps against the same sources
with the same settings. The checks, and the cheap bounds that tell a detector a step cannot reach its
threshold, are computed here once per run and shared.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import compress
from operator import attrgetter

from mao.domain.models import Run, Step
from mao.domain.security.grounding import GroundingReport, ProblemBound, check_against, problem_bound, problem_bounds
from mao.domain.security.run_text import RunSources, run_sources

# Source sentences compared per claim: a number is only called contradicted by a sentence sharing at
# least half of the claim's words, so sentences that cannot reach that are not compared at all.
MIN_OVERLAP = 0.5
MAX_CANDIDATES = 500
_INDEX = attrgetter("index")
_CONTENT = attrgetter("content")


@dataclass(slots=True)
class Statement:
    """A step's own message, with documents before it to check against."""

    step: Step
    n_docs: int  # documents that appeared before the step
    bound: ProblemBound  # what its check could find wrong at most


class StepGrounding:
    """The grounding checks of one run: every statement's bound up front, reports on demand, once each."""

    __slots__ = ("_bounds", "_n_docs", "_reports", "_steps", "sources")

    def __init__(self, sources: RunSources) -> None:
        self.sources = sources
        self._reports: dict[tuple[str, int], GroundingReport] = {}
        limits, n_docs = sources.prefixes(list(map(_INDEX, sources.statements)))
        checked = list(map(bool, n_docs))  # a step with no document before it is not checked
        self._steps = list(compress(sources.statements, checked))
        self._n_docs = list(compress(n_docs, checked))
        outputs, limits = list(map(_CONTENT, self._steps)), list(compress(limits, checked))
        self._bounds = problem_bounds(outputs, sources.sources, limits, self._n_docs, MIN_OVERLAP, MAX_CANDIDATES)

    def statements(self, min_problems: int = 0, min_findings: int = 0) -> list[Statement]:
        """The steps with documents before them, in order, whose bounds reach both minimums."""
        found = zip(self._steps, self._n_docs, self._bounds, strict=True)
        return [Statement(step, n, bound) for step, n, bound in found
                if bound.problems >= min_problems and bound.findings >= min_findings]

    def bound(self, text: str, index: int) -> ProblemBound:
        """Upper bounds on what :meth:`report` can find wrong in ``text`` said at step ``index``."""
        return problem_bound(text, self.sources.sources, self.sources.before(index), min_overlap=MIN_OVERLAP,
                             max_candidates=MAX_CANDIDATES, ref_count=self.sources.docs_before(index))

    def report(self, text: str, index: int) -> GroundingReport:
        """``text`` said at step ``index`` checked against every source that appeared before it."""
        key = (text, index)
        found = self._reports.get(key)
        if found is None:
            found = self._reports[key] = check_against(
                text, self.sources.sources, self.sources.before(index), min_overlap=MIN_OVERLAP,
                max_candidates=MAX_CANDIDATES, ref_count=self.sources.docs_before(index))
        return found


_LAST: list[StepGrounding] = []


def step_grounding(run: Run) -> StepGrounding:
    """The run's grounding checks, shared for as long as :func:`run_sources` reuses its sources."""
    sources = run_sources(run)
    if not _LAST or _LAST[0].sources is not sources:
        _LAST[:] = [StepGrounding(sources)]
    return _LAST[0]


__all__ = ["MAX_CANDIDATES", "MIN_OVERLAP", "Statement", "StepGrounding", "step_grounding"]
