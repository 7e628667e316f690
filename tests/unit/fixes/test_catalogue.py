import pytest

from mao.domain.detectors import registry
from mao.domain.fixes.catalogue import RECIPES, DetectionRef, agents_from, find, suggest
from mao.domain.fixes.patches import apply_config_ops, apply_n8n_ops, plan_kind, unmet_config_ops


def test_every_fix_type_a_detector_names_has_a_recipe():
    named = {t for spec in registry.specs() for t in spec.fix_types}
    assert named - set(RECIPES) == set()


def test_fix_ids_are_stable_across_calls_and_differ_between_detections():
    ref = DetectionRef("det_1", "loop", "langgraph", details={"rounds": 5})
    first = [s.fix_id for s in suggest(ref, registry.spec("loop").fix_types)]
    again = [s.fix_id for s in suggest(ref, registry.spec("loop").fix_types)]
    other = [s.fix_id for s in suggest(DetectionRef("det_2", "loop", "langgraph"), registry.spec("loop").fix_types)]
    assert first == again and len(set(first)) == len(first)
    assert not set(first) & set(other)


def test_a_langgraph_loop_gets_a_recursion_limit_with_a_snippet():
    ref = DetectionRef("det_1", "loop", "langgraph", details={"rounds": 5})
    fix = next(s for s in suggest(ref, ["recursion_limit"]))
    assert fix.risk == "low" and fix.target_kind == "config"
    assert fix.ops == ({"op": "set", "path": "limits.recursion_limit", "value": 20},)
    assert "recursion_limit" in (fix.snippet or "")
    assert find(ref, ["recursion_limit"], fix.fix_id) == fix
    assert find(ref, ["recursion_limit"], "fix_nope") is None


def test_other_frameworks_use_their_own_step_limit_names():
    crew = suggest(DetectionRef("d", "loop", "crewai"), ["recursion_limit"])[0]
    assert crew.ops[0]["path"] == "limits.max_iter"


def test_n8n_traces_get_workflow_patches_on_the_named_nodes():
    ref = DetectionRef("d", "loop", "n8n", details={"agent": "Fetch orders"}, agents=("Fetch orders",))
    retry = suggest(ref, ["retry_policy"])[0]
    assert retry.target_kind == "n8n" and retry.target_types == ("n8n", "webhook")
    workflow = {"nodes": [{"name": "Fetch orders", "type": "n8n-nodes-base.httpRequest"},
                          {"name": "Other", "type": "n8n-nodes-base.set"}]}
    patched = apply_n8n_ops(workflow, retry.ops)
    assert patched["nodes"][0]["retryOnFail"] is True and patched["nodes"][0]["maxTries"] == 3
    assert "retryOnFail" not in patched["nodes"][1]


def test_prompt_patches_append_the_instruction_once():
    ref = DetectionRef("d", "role_violation", "autogen", agents=("planner",))
    fix = suggest(ref, ["role_instruction"])[0]
    assert fix.kind == "prompt_patch" and fix.risk == "medium" and "planner" in fix.description
    doc = apply_config_ops({"instructions": "You plan."}, fix.ops)
    assert doc["instructions"].startswith("You plan.") and apply_config_ops(doc, fix.ops) == doc
    assert unmet_config_ops(doc, fix.ops) == [] and unmet_config_ops({}, fix.ops) == list(fix.ops)


@pytest.mark.parametrize("framework", ["langgraph", "n8n", "unknown", "something-new"])
def test_every_recipe_yields_a_consistent_plan(framework):
    ref = DetectionRef("d", "x", framework, details={"budget_usd": 2.5, "rounds": 3})
    for fix in suggest(ref, list(RECIPES)):
        assert fix.risk in ("low", "medium", "high")
        assert fix.title and fix.rationale and fix.expected_effect and fix.description
        assert plan_kind(fix.ops) == fix.target_kind


def test_budget_guard_uses_the_detected_budget():
    fix = suggest(DetectionRef("d", "cost_overrun", "openai", details={"budget_usd": 2.5}), ["budget_guard"])[0]
    assert {"op": "set", "path": "budget.max_cost_usd", "value": 2.5} in fix.ops


def test_agent_names_come_from_detection_details():
    assert agents_from({"agent": "a", "agents": ["b", "a"], "other": "x"}) == ("a", "b")
    assert agents_from({}) == ()
