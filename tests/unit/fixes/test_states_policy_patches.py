import itertools
from datetime import UTC, datetime, timedelta

import pytest

from mao.domain.fixes.ids import fix_id
from mao.domain.fixes.patches import PatchError, apply_n8n_ops, unmet_n8n_ops
from mao.domain.fixes.policy import HealingPolicy, decide
from mao.domain.fixes.states import (
    IllegalTransition,
    can_transition,
    check_execute,
    check_rollback,
    check_transition,
)

NOW = datetime(2025, 1, 1, 12, tzinfo=UTC)


def test_the_happy_path_is_legal_and_shortcuts_are_not():
    path = ["pending_approval", "approved", "executing", "applied", "verified", "rolled_back"]
    for a, b in itertools.pairwise(path):
        check_transition(a, b)
    assert not can_transition("pending_approval", "executing")
    assert not can_transition("rejected", "approved")
    assert not can_transition("rolled_back", "rolled_back")
    with pytest.raises(IllegalTransition, match="allowed from here"):
        check_transition("approved", "verified")


def test_no_execute_before_approval_and_only_while_waiting():
    with pytest.raises(IllegalTransition, match="approved before"):
        check_execute("pending_approval", True)
    with pytest.raises(IllegalTransition, match="not waiting"):
        check_execute("approved", False)
    check_execute("approved", True)


def test_no_rollback_of_what_was_never_applied():
    with pytest.raises(IllegalTransition):
        check_rollback("approved", False)
    with pytest.raises(IllegalTransition, match="nothing was applied"):
        check_rollback("failed", False)
    check_rollback("failed", True)
    check_rollback("verified", True)


def test_fix_ids_are_deterministic():
    assert fix_id("d1", "loop_guard", "n8n") == fix_id("d1", "loop_guard", "n8n")
    assert fix_id("d1", "loop_guard", "n8n") != fix_id("d1", "loop_guard", "langgraph")
    assert fix_id("d1", "loop_guard", "n8n").startswith("fix_")


def test_policy_auto_approves_only_listed_risks_within_limits():
    policy = HealingPolicy(frozenset({"low"}), max_auto_per_hour=2, cooldown_seconds=600)
    assert decide(policy, "low", 0, None, NOW).auto_approved
    assert not decide(policy, "medium", 0, None, NOW).auto_approved
    assert not decide(policy, "low", 2, None, NOW).auto_approved
    cooling = decide(policy, "low", 0, NOW - timedelta(seconds=60), NOW)
    assert not cooling.auto_approved and "cooling down" in cooling.reason
    assert decide(policy, "low", 0, NOW - timedelta(seconds=601), NOW).auto_approved
    assert not decide(HealingPolicy(), "low", 0, None, NOW).auto_approved


def test_policy_rejects_bad_values_and_round_trips():
    with pytest.raises(ValueError):
        HealingPolicy(frozenset({"extreme"}))
    with pytest.raises(ValueError):
        HealingPolicy(max_auto_per_hour=-1)
    policy = HealingPolicy(frozenset({"low", "medium"}), 3, 60)
    assert HealingPolicy.from_dict(policy.to_dict()) == policy


def test_n8n_workflow_settings_and_missing_nodes():
    wf = {"nodes": [{"name": "A", "type": "x"}], "settings": {}}
    op = {"op": "workflow_setting", "key": "executionTimeout", "value": 120}
    assert unmet_n8n_ops(wf, [op]) == [op]
    patched = apply_n8n_ops(wf, [op])
    assert patched["settings"]["executionTimeout"] == 120 and wf["settings"] == {}
    assert unmet_n8n_ops(patched, [op]) == []
    with pytest.raises(PatchError, match="no node matches"):
        apply_n8n_ops(wf, [{"op": "node_settings", "nodes": ["B"], "node_types": None, "values": {"maxTries": 2}}])
