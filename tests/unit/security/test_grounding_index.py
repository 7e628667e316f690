"""The indexed grounding check: prefix queries agree with checking the prefix directly, and the
support rules (derived numbers, context, count-only results, acronyms, JSON, code indexes)."""

from __future__ import annotations

from mao.domain.models import Run, Step, ToolCall
from mao.domain.security.grounding import SourceSet, check_against, check_grounding
from mao.domain.security.run_text import run_sources

SOURCES = [
    "Acme Corp reported revenue of $4.2 million in 2023, up from $3.1 million in 2022.",
    "The CEO is Maria Lopez. The company employs 450 people in Berlin.",
    "Shares closed at 18.40 on March 3, 2024. See https://acme.example/ir for details.",
]
ANSWERS = [
    "Acme Corp revenue was $4.2 million in 2023 under CEO Maria Lopez.",
    "Acme Corp reported revenue of $5.0 million in 2023, up from $3.1 million in 2022.",
    "Shares closed at 18.40 on March 3, 2024 (https://acme.example/ir) and 'a record year' [3].",
    "John Smith said \"we doubled headcount in Munich this year\" [4].",
]


def _facts(report) -> list[tuple[str, str, str]]:
    return [(f.kind, f.text, f.status) for c in report.claims for f in c.facts]


def test_prefix_query_matches_checking_the_prefix_alone() -> None:
    indexed = SourceSet(SOURCES)
    for limit in range(len(SOURCES) + 1):
        for answer in ANSWERS:
            direct = check_grounding(answer, SOURCES[:limit])
            via_index = check_against(answer, indexed, limit)
            assert via_index.to_dict() == direct.to_dict(), (limit, answer)


def test_contradicted_number_points_at_the_source_sentence() -> None:
    report = check_grounding(ANSWERS[1], SOURCES)
    assert ("number", "$5.0 million", "contradicted") in _facts(report)
    assert report.contradicted == 1


def test_numbers_computed_from_the_claims_own_figures_are_supported() -> None:
    report = check_grounding("At 0.92 per dollar, 250 USD is about 230 EUR.", ["USD/EUR rate 0.92", "amount 250"])
    assert report.unsupported == 0 and report.contradicted == 0
    growth = check_grounding("Sessions rose from 48,000 to 54,000, growth of 12.5%.", ["April 48000, May 54000"])
    assert growth.unsupported == 0
    invented = check_grounding("Sessions rose from 48,000 to 54,000, growth of 31%.", ["April 48000, May 54000"])
    assert invented.unsupported == 1


def test_count_only_results_leave_facts_unverifiable_not_unsupported() -> None:
    report = check_grounding("42 payments failed, peaking at 17 on the 3rd.", ["42 rows"])
    assert report.unsupported == 0
    assert any(f.status == "unverifiable" for c in report.claims for f in c.facts)
    full = check_grounding("42 payments failed, peaking at 17 on the 3rd.", ["failed payments: 42 in total"])
    assert full.unsupported + full.contradicted >= 1


def test_acronym_spelled_out_in_a_source_supports_the_name() -> None:
    report = check_grounding("April WAU Report: 18,731.", ["weekly active users for April: 18731", "Report"])
    assert ("name", "April WAU Report", "supported") in _facts(report)


def test_json_values_are_not_quotes_and_code_indexes_are_not_citations() -> None:
    json_out = check_grounding('{"vendor": "Harbor Coffee Roasters", "total": 86.40}',
                               ["Order for Harbor Coffee Roasters, total 86.40"])
    assert not any(f.kind == "quote" for c in json_out.claims for f in c.facts)
    code = check_grounding("build_report read rows[0] before checking the list.", ["IndexError at rows[0]"])
    assert not any(f.kind == "citation" for c in code.claims for f in c.facts)


def _run() -> Run:
    steps = [
        Step(index=0, agent="user", role="user", content="Budget is 240,000 for the Oslo office.", ref="s0"),
        Step(index=1, agent="agent", content="", ref="s1", kind="tool",
             tool_calls=[ToolCall(name="lookup", arguments={"city": "Oslo", "year": 2024},
                                  result="Oslo office rent: 18,500 per month.")]),
        Step(index=2, agent="agent", content="Rent is 18,500 a month in 2024, within the 240,000 budget.", ref="s2"),
    ]
    return Run(run_id="r", kind="trace", steps=steps, task="Plan the Oslo office.")


def test_run_sources_give_each_step_what_came_before_it() -> None:
    run = _run()
    indexed = run_sources(run)
    assert run_sources(run) is indexed  # built once per run
    assert indexed.docs_before(1) == 0 and indexed.docs_before(2) == 1
    assert indexed.source_steps(indexed.docs_before(2)) == [1]
    report = check_against(run.steps[2].content, indexed.sources, indexed.before(2),
                           ref_count=indexed.docs_before(2))
    assert report.unsupported == 0 and report.contradicted == 0  # user figure and tool arguments count


def test_context_supports_but_never_contradicts() -> None:
    indexed = SourceSet(["Round 2 finished.", "Latency is 40 ms."], documents=[False, True])
    report = check_against("Round 3 finished.", indexed)
    assert report.contradicted == 0
    doc = SourceSet(["Round 2 finished."])
    assert check_against("Round 3 finished.", doc).contradicted == 1
