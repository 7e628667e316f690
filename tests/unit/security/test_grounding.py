"""Claims are checked against the sources: supported, unsupported or contradicted, with evidence."""

from __future__ import annotations

from mao.domain.security.grounding import check_grounding

SOURCES = [
    "The Eiffel Tower was completed on March 31, 1889 and is 330 metres tall. "
    "It was built by the company of Gustave Eiffel. It had 6,200,000 visitors in 2019.",
    "More at https://example.org/eiffel-facts.",
]


def test_supported_output_scores_full_grounding() -> None:
    report = check_grounding("The Eiffel Tower is 330 metres tall and was completed in 1889. "
                             "It had 6.2 million visitors in 2019.", SOURCES)
    assert report.grounding_score == 1.0
    assert not report.hallucinated
    assert report.unsupported == report.contradicted == 0


def test_changed_number_is_contradicted_with_the_source_sentence() -> None:
    report = check_grounding("The Eiffel Tower is 300 metres tall.", SOURCES)
    assert report.contradicted == 1
    claim = report.claims[0]
    assert claim.status == "contradicted"
    fact = claim.facts[0]
    assert fact.text == "300" and "330 metres" in (fact.source_quote or "")


def test_invented_names_quotes_and_citations_are_unsupported() -> None:
    report = check_grounding(
        'It was designed by Stephen Sauvestre. The guide says "the tower was painted gold every year". '
        "See https://example.org/made-up and [4].", SOURCES)
    kinds = {f.kind for c in report.claims for f in c.facts if f.status == "unsupported"}
    assert {"name", "quote", "citation"} <= kinds
    assert report.hallucinated
    assert report.grounding_score < 0.5


def test_cited_source_url_is_supported() -> None:
    report = check_grounding("Details are at https://example.org/eiffel-facts.", SOURCES)
    assert report.unsupported == 0


def test_report_serialises_for_the_api() -> None:
    body = check_grounding("The tower is 300 metres tall.", SOURCES).to_dict()
    assert set(body) >= {"grounding_score", "claims", "supported", "unsupported", "contradicted", "hallucinated"}
    assert body["claims"][0]["facts"][0]["status"] == "contradicted"
