"""A run's sources and grounding checks are built once and shared, and rebuilt when the run changes;
the run walk collects exactly the texts the plain per-step definitions give."""

from __future__ import annotations

from mao.domain.detectors import grounding_failure, hallucination
from mao.domain.models import Run, Step, ToolCall
from mao.domain.security.grounding import check_against
from mao.domain.security.run_text import run_sources, step_context, step_sources
from mao.domain.security.step_grounding import MAX_CANDIDATES, MIN_OVERLAP, step_grounding


def _defaults(module) -> dict[str, float]:
    return {name: t.default for name, t in module.SPEC.thresholds.items()}


def _run() -> Run:
    steps = [
        Step(index=0, agent="user", role="user", content="Budget is 240,000 for the Oslo office.", ref="s0"),
        Step(index=1, agent="agent", content="", ref="s1", kind="tool", input="find the rent",
             tool_calls=[ToolCall(name="lookup", arguments={"city": "Oslo", "year": 2024},
                                  result={"rent": "18,500 per month", "currency": "NOK"}, error="   ")]),
        Step(index=2, agent="agent", content="Rent is 18,500 a month, within the 240,000 budget.", ref="s2",
             error="retry 1"),
        Step(index=3, agent="agent", content="", ref="s3", kind="tool",
             tool_calls=[ToolCall(name="search", arguments="Oslo office 2024", result="3 results")]),
        Step(index=4, agent="agent", content="Rent is 19,000 a month, says the \"official city rent register\".",
             ref="s4"),
    ]
    return Run(run_id="r", kind="trace", steps=steps, task="Plan the Oslo office.")


def test_run_walk_collects_the_per_step_texts_in_order() -> None:
    run = _run()
    built = run_sources(run)
    want: list[str] = [run.task or ""]
    before = []
    for step in run.steps:
        want += [step.input] if step.input.strip() else []
        before.append(len(want))
        want += step_sources(step) + step_context(step)
    texts = built.sources._texts
    assert [texts[i] for i in range(len(texts))] == want  # JSON of tool values only once read, the same
    assert built.before_step[:-1] == before
    assert [s.index for s in built.statements] == [2, 4]


def test_sources_are_reused_until_the_run_changes() -> None:
    run = _run()
    first = run_sources(run)
    assert run_sources(run) is first
    assert step_grounding(run) is step_grounding(run)
    run.steps[2].content = "Rent is 18,000 a month."
    second = run_sources(run)
    assert second is not first
    run.steps[3].tool_calls[0].result = "Rent 18,000 NOK"  # a tool result replaced, not the step
    assert run_sources(run) is not second
    assert run_sources(_run()) is not run_sources(run)  # another run object with equal content


def test_both_detectors_share_each_check_and_agree_with_checking_directly() -> None:
    run = _run()
    checks = step_grounding(run)
    step = run.steps[4]
    report = checks.report(step.content, step.index)
    assert checks.report(step.content, step.index) is report
    direct = check_against(step.content, checks.sources.sources, checks.sources.before(4), min_overlap=MIN_OVERLAP,
                           max_candidates=MAX_CANDIDATES, ref_count=checks.sources.docs_before(4))
    assert report.to_dict() == direct.to_dict()
    found = hallucination.detect(run, _defaults(hallucination))
    assert [d.evidence[0].ref for d in found] == ["s4"]  # the quote is in no source
    assert grounding_failure.detect(run, _defaults(grounding_failure)) == []  # one unsupported fact only


def test_statements_below_a_threshold_are_left_out() -> None:
    checks = step_grounding(_run())
    everything = checks.statements()
    assert [s.step.index for s in everything] == [2, 4]
    assert all(s.bound.findings >= 1 for s in checks.statements(min_findings=1))
    assert checks.statements(min_problems=99) == []
