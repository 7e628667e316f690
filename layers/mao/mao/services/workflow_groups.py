"""Workflow groups: named sets of workflows with rules that assign workflows automatically.

A *workflow* is a stable id for a kind of run: the trace's name (the n8n workflow, Dify app,
LangGraph graph or root span name as ingest recorded it). Rules look at what the traces of a workflow
show: its name (a regular expression), its source framework, its complexity and its quality grade.
``match_mode`` ``all`` needs every rule given to match, ``any`` needs one.

Complexity, from the largest trace of the workflow seen:
    simple    at most 1 agent and at most 10 spans
    complex   4 or more agents, or more than 50 spans
    moderate  anything in between
Grade: the A-F grade (``mao.domain.grades``) of the workflow's average quality score over its
analysed traces; a workflow with no analysed trace has no grade and never matches a grade rule.

Name patterns are user-supplied regular expressions: they are limited in length, patterns with the
shapes that backtrack catastrophically (a quantified group that itself contains a quantifier, and
backreferences) are rejected, and every match runs under a time limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mao.domain.grades import GRADES, grade
from mao.domain.models import FRAMEWORKS

MAX_PATTERN_LENGTH = 200
MATCH_TIMEOUT_S = 0.05
MAX_NAME_LENGTH = 500  # names are truncated to this before matching
MAX_WORKFLOWS_PER_GROUP = 1000
COMPLEXITIES: tuple[str, ...] = ("simple", "moderate", "complex")
MATCH_MODES: tuple[str, ...] = ("all", "any")

# A group (...) or class [...] whose body holds a quantifier, itself followed by a quantifier:
# (a+)+, (\w*)*, (a|aa)+ with inner repetition, (x{2,})* ...
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[*+}](?:[^()\\]|\\.)*\)\s*[*+{]")
_ALTERNATION_REPEAT = re.compile(r"\((?:[^()\\]|\\.)*\|(?:[^()\\]|\\.)*\)\s*[*+{]")
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=|\\k<")


class RuleError(ValueError):
    def __init__(self, field_path: str, message: str) -> None:
        super().__init__(f"{field_path}: {message}")
        self.field = field_path
        self.message = message


def check_pattern(pattern: str, path: str = "rules.name_pattern") -> Any:
    """The compiled pattern, or ``RuleError`` when it is too long, unsafe or invalid."""
    import regex

    if len(pattern) > MAX_PATTERN_LENGTH:
        raise RuleError(path, f"longer than {MAX_PATTERN_LENGTH} characters")
    if _NESTED_QUANTIFIER.search(pattern) or _ALTERNATION_REPEAT.search(pattern):
        raise RuleError(path, "nested quantifiers or repeated alternations can backtrack catastrophically")
    if _BACKREFERENCE.search(pattern):
        raise RuleError(path, "backreferences are not allowed")
    try:
        return regex.compile(pattern, regex.IGNORECASE)
    except regex.error as exc:
        raise RuleError(path, f"invalid regular expression: {exc}") from None


def pattern_matches(compiled: Any, name: str) -> bool:
    try:
        return compiled.search(name[:MAX_NAME_LENGTH], timeout=MATCH_TIMEOUT_S) is not None
    except TimeoutError:
        return False  # too slow to decide: treated as no match


def _string_list(value: Any, path: str, allowed: Iterable[str] | None = None) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or len(value) > 50:
        raise RuleError(path, "must be a string or a list of at most 50 strings")
    if allowed is not None:
        allowed = tuple(allowed)
        bad = [v for v in value if v not in allowed]
        if bad:
            raise RuleError(path, f"unknown value {bad[0]!r}; allowed: {', '.join(allowed)}")
    return list(dict.fromkeys(value))


def normalise_rules(rules: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validated rules: ``name_pattern``, ``sources``, ``complexity``, ``grades`` (each optional)."""
    out: dict[str, Any] = {}
    if not rules:
        return out
    if not isinstance(rules, Mapping):
        raise RuleError("rules", "must be an object")
    aliases = {"source": "sources", "grade": "grades", "complexities": "complexity"}
    for key, value in rules.items():
        key = aliases.get(key, key)
        if value is None:
            continue
        if key == "name_pattern":
            if not isinstance(value, str) or not value:
                raise RuleError("rules.name_pattern", "must be a non-empty string")
            check_pattern(value)
            out[key] = value
        elif key == "sources":
            out[key] = _string_list(value, "rules.sources", FRAMEWORKS)
        elif key == "complexity":
            out[key] = _string_list(value, "rules.complexity", COMPLEXITIES)
        elif key == "grades":
            out[key] = _string_list(value, "rules.grades", GRADES)
        else:
            raise RuleError(f"rules.{key}", "unknown rule; known: name_pattern, sources, complexity, grades")
    return out


@dataclass(slots=True)
class WorkflowFacts:
    workflow_id: str
    sources: set[str] = field(default_factory=set)
    max_agents: int = 0
    max_spans: int = 0
    traces: int = 0
    score_total: float = 0.0
    scored: int = 0

    @property
    def complexity(self) -> str:
        if self.max_agents <= 1 and self.max_spans <= 10:
            return "simple"
        if self.max_agents >= 4 or self.max_spans > 50:
            return "complex"
        return "moderate"

    @property
    def grade(self) -> str | None:
        return grade(self.score_total / self.scored) if self.scored else None

    def to_dict(self) -> dict[str, Any]:
        return {"workflow_id": self.workflow_id, "sources": sorted(self.sources), "complexity": self.complexity,
                "grade": self.grade, "traces": self.traces}


def matches(rules: Mapping[str, Any], match_mode: str, facts: WorkflowFacts) -> bool:
    """Whether a workflow satisfies the group's rules; a group without rules matches nothing."""
    results: list[bool] = []
    if "name_pattern" in rules:
        results.append(pattern_matches(check_pattern(rules["name_pattern"]), facts.workflow_id))
    if "sources" in rules:
        results.append(bool(facts.sources & set(rules["sources"])))
    if "complexity" in rules:
        results.append(facts.complexity in rules["complexity"])
    if "grades" in rules:
        results.append(facts.grade in rules["grades"])
    if not results:
        return False
    return all(results) if match_mode == "all" else any(results)


def add_workflows(current: list[str], new: Iterable[str]) -> tuple[list[str], list[str]]:
    """(the group's workflows with ``new`` added once each, the ids actually added)."""
    have = set(current)
    added: list[str] = []
    for wf in new:
        if wf not in have:
            have.add(wf)
            added.append(wf)
    if len(current) + len(added) > MAX_WORKFLOWS_PER_GROUP:
        raise RuleError("workflow_ids", f"a group holds at most {MAX_WORKFLOWS_PER_GROUP} workflows")
    return current + added, added


# ---------------------------------------------------------------- storage-backed operations

def group_view(item: Any) -> dict[str, Any]:
    return {"group_id": item.group_id, "name": item.name, "description": item.description,
            "rules": dict(item.rules or {}), "match_mode": item.match_mode,
            "workflows": list(item.workflows or []), "workflow_count": len(item.workflows or []),
            "created_at": item.created_at.isoformat(), "updated_at": item.updated_at.isoformat()}


def workflow_facts(tenant_id: str, days: int, with_grades: bool) -> dict[str, WorkflowFacts]:
    """Facts per workflow from the tenant's traces of the last ``days`` days (streamed)."""
    from mao.adapters import detections, traces
    from mao.services.analytics import run_score

    since = datetime.now(UTC) - timedelta(days=days)
    query, _count = traces.list_traces_query(tenant_id, start_from=int(since.timestamp() * 1e9))
    out: dict[str, WorkflowFacts] = {}
    for record in query(None, None):
        summary = traces.loads(record.summary)
        workflow_id = summary.get("name")
        if not workflow_id:
            continue
        facts = out.setdefault(workflow_id, WorkflowFacts(workflow_id))
        facts.traces += 1
        facts.sources.add(summary.get("framework") or "unknown")
        facts.max_agents = max(facts.max_agents, len(summary.get("agents") or []))
        facts.max_spans = max(facts.max_spans, int(summary.get("span_count") or 0))
        if with_grades:
            analysis = detections.get_analysis(tenant_id, "trace", record.trace_id)
            if analysis is not None:
                facts.score_total += run_score(tenant_id, analysis)
                facts.scored += 1
    return out


def auto_detect(tenant_id: str, item: Any, days: int) -> dict[str, Any]:
    from mao.adapters import workflow_groups as store

    rules = dict(item.rules or {})
    if not rules:
        raise RuleError("rules", "the group has no rules to match workflows with")
    facts = workflow_facts(tenant_id, days, with_grades="grades" in rules)
    matched = [f for wf_id, f in sorted(facts.items()) if matches(rules, item.match_mode, f)]
    workflows, added = add_workflows(list(item.workflows or []), [f.workflow_id for f in matched])
    if added:
        item.workflows = workflows
        store.save(item)
    already = [f.workflow_id for f in matched if f.workflow_id not in set(added)]
    return {"group": group_view(item), "assigned": added, "already_assigned": already,
            "matched": [f.to_dict() for f in matched], "workflows_evaluated": len(facts), "days": days}
