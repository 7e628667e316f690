"""The indexed grounding check: prefix queries agree with checking the prefix directly, and the
support rules (derived numbers, context, count-only results, acronyms, JSON, code indexes)."""

from __future__ import annotations

import re

from mao.domain.models import Run, Step, ToolCall
from mao.domain.security import grounding
from mao.domain.security.grounding import SourceSet, check_against, check_grounding, problem_bound, problem_bounds
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


# -- the fast paths give what the plain definitions give
def test_sentences_of_many_texts_match_each_text_split_alone() -> None:
    texts = ["Round 5. Next, the coder looks at it.", "Rate is 3.5 M! Is it? \"Yes.\" [2] follows.",
             "one\n\n\ntwo lines\r\nthree. four", "e.g. A case, i.e. b case.   ", "", "ab", "no end mark",
             "NUL\x00inside. Still one text", "Déjà vu. Ça va! 12 items\n(3) more."]
    want = [(i, s) for i, t in enumerate(texts) for s in grounding.sentences(t)]
    claims, owners = grounding._sentences_of(texts)
    assert list(zip(owners, claims, strict=True)) == want
    assert grounding._sentences_of(texts[:7]) == ([s for _, s in want if _ < 7], [i for i, _ in want if i < 7])


def test_word_sets_match_the_word_pattern() -> None:
    for text in ("The API's p95 is 21 ms", "Rows[0] & rows_1: 3.5%", "Ça coûte 12 €, don't worry", "A\x00B\x1fc",
                 "KELVIN \u212a", ""):
        want = frozenset(w for w in re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower()) if w not in grounding._STOP)
        assert grounding._words(text) == want, text


def test_number_pattern_finds_what_the_plain_pattern_finds() -> None:
    plain = re.compile(r"(?=[-+$\d])(?<![\w.])[-+]?\$?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
                       r"(?:\s?(?:%|percent|k|m|bn|million|billion|thousand|trillion)\b)?)", re.IGNORECASE)
    for text in ("$4.2 million, -3, +1,200.50 and 12% (7K users, 3 BN rows)", "v1.2.3 p95 x7 1,2345 .5 5.",
                 "٣ items, 12 percent, 9Million", "a-5 $-5 -$5 5 m 5 ms"):
        want = [(m.group(0).strip(), grounding._number_value(m.group(0))) for m in plain.finditer(text)]
        assert grounding._numbers(text, []) == want, text


def test_prefix_queries_in_any_order_match_a_fresh_index() -> None:
    shared = SourceSet(SOURCES)
    for limit in (3, 1, 2, 0, 3):  # indexes grow as far as asked and then answer smaller prefixes
        for answer in ANSWERS:
            for kwargs in ({}, {"min_overlap": 0.5, "max_candidates": 500}):
                got = check_against(answer, shared, limit, **kwargs).to_dict()
                assert got == check_against(answer, SourceSet(SOURCES), limit, **kwargs).to_dict(), (limit, answer)


# -- bounds: what a check could find wrong at most, without lookups
def _counts(report) -> tuple[int, int]:
    facts = [f for c in report.claims for f in c.facts]
    findings = sum(f.status == "contradicted" or (f.status == "unsupported" and f.kind in ("quote", "citation"))
                   for f in facts)
    return report.unsupported + report.contradicted, findings


def test_bounds_are_never_below_what_the_check_finds() -> None:
    sources = [*SOURCES, "12 results", "Latency was 40 ms at 300 requests per second."]
    answers = [*ANSWERS, "Latency was 45 ms at 300 requests per second.", "Round 4. Nothing else to add."]
    for limit in range(len(sources) + 1):
        for answer in answers:
            bound = problem_bound(answer, SourceSet(sources), limit, 0.5, 500, limit)
            problems, findings = _counts(check_against(answer, SourceSet(sources), limit, min_overlap=0.5,
                                                       max_candidates=500, ref_count=limit))
            assert bound.problems >= problems and bound.findings >= findings, (limit, answer, bound)
        together = problem_bounds(answers, SourceSet(sources), [limit] * len(answers), [limit] * len(answers), 0.5, 500)
        assert together == [problem_bound(a, SourceSet(sources), limit, 0.5, 500, limit) for a in answers]


def test_after_a_count_only_source_only_possible_contradictions_count() -> None:
    sources = ["7 results for the cache layer", "Latency was 40 ms at 300 requests per second."]
    quiet = problem_bound("The cache layer handled 912 requests during the 3 hour window.", SourceSet(sources), 2)
    assert quiet.problems == quiet.findings == 0  # shares too few words with any document
    changed = "Latency was 45 ms at 300 requests per second."
    bound = problem_bound(changed, SourceSet(sources), 2, 0.5, 500)
    assert bound.findings >= 1
    assert check_against(changed, SourceSet(sources), 2, min_overlap=0.5, max_candidates=500).contradicted == 1
