import time

import pytest

from mao.services.workflow_groups import (
    MAX_PATTERN_LENGTH,
    RuleError,
    WorkflowFacts,
    add_workflows,
    check_pattern,
    matches,
    normalise_rules,
    pattern_matches,
)


@pytest.mark.parametrize("pattern", ["(a+)+$", r"(\w*)*x", "(x{2,})*", "(a|aa)+", r"(.)\1",
                                     "a" * (MAX_PATTERN_LENGTH + 1), "([unclosed"])
def test_unsafe_long_or_invalid_patterns_are_rejected(pattern):
    with pytest.raises(RuleError) as err:
        check_pattern(pattern)
    assert err.value.field == "rules.name_pattern"


def test_safe_patterns_match_case_insensitively_and_quickly():
    compiled = check_pattern(r"^support-(triage|billing)-v\d+$")
    assert pattern_matches(compiled, "Support-Billing-v2")
    assert not pattern_matches(compiled, "support-sales-v2")
    start = time.perf_counter()
    assert not pattern_matches(check_pattern(r"^\w+@\w+\.com$"), "a" * 100_000 + "!")
    assert time.perf_counter() - start < 1.0


def facts(name: str, source: str = "n8n", agents: int = 1, spans: int = 5, score: float | None = None):
    f = WorkflowFacts(name, {source}, agents, spans, 1)
    if score is not None:
        f.score_total, f.scored = score, 1
    return f


def test_match_mode_all_needs_every_rule_and_any_needs_one():
    rules = normalise_rules({"name_pattern": "^billing", "sources": ["dify"]})
    assert not matches(rules, "all", facts("billing-bot", "n8n"))
    assert matches(rules, "any", facts("billing-bot", "n8n"))
    assert matches(rules, "all", facts("billing-bot", "dify"))
    assert not matches(rules, "any", facts("support", "n8n"))


def test_complexity_and_grade_rules():
    assert facts("w", agents=1, spans=10).complexity == "simple"
    assert facts("w", agents=2, spans=20).complexity == "moderate"
    assert facts("w", agents=5, spans=20).complexity == "complex"
    rules = normalise_rules({"complexity": "complex", "grades": ["D", "F"]})
    assert matches(rules, "all", facts("w", agents=6, score=55))
    assert not matches(rules, "all", facts("w", agents=6, score=95))
    assert not matches(rules, "all", facts("w", agents=6))  # never analysed: no grade


def test_rules_are_validated_by_field_and_empty_rules_match_nothing():
    for rules, field in [({"sources": ["cobol"]}, "rules.sources"), ({"grades": ["E"]}, "rules.grades"),
                         ({"colour": "red"}, "rules.colour"), ({"complexity": [1]}, "rules.complexity")]:
        with pytest.raises(RuleError) as err:
            normalise_rules(rules)
        assert err.value.field == field
    assert not matches({}, "any", facts("anything"))


def test_adding_workflows_never_duplicates():
    workflows, added = add_workflows(["a", "b"], ["b", "c", "c", "d"])
    assert workflows == ["a", "b", "c", "d"] and added == ["c", "d"]
