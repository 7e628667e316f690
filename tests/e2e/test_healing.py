"""Fixes and self-healing end to end: detection -> fix -> operation -> approve -> execute -> verify ->
rollback on the local stack, with the HealingStateMachine really executing on the emulator."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.e2e.healing_support import FakeN8n, WebhookReceiver, seed_detection
from tests.e2e.test_auth import assert_error

pytestmark = pytest.mark.e2e

WORKFLOW = {"name": "orders", "nodes": [
    {"name": "Fetch orders", "type": "n8n-nodes-base.httpRequest", "parameters": {"url": "https://x.test"}},
    {"name": "Summarise", "type": "@n8n/n8n-nodes-langchain.agent", "parameters": {}}],
    "connections": {"Fetch orders": {"main": [[{"node": "Summarise", "type": "main", "index": 0}]]}},
    "settings": {"executionOrder": "v1"}}


@pytest.fixture(autouse=True)
def loopback_targets(stack, monkeypatch) -> None:
    monkeypatch.setenv("MAO_HEALING_ALLOWED_NETWORKS", "127.0.0.0/8")


@pytest.fixture
def n8n() -> Iterator[FakeN8n]:
    server = FakeN8n("n8n-key", {"wf1": WORKFLOW})
    yield server
    server.close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.close()


def base(tenant) -> str:
    return f"/api/v1/tenants/{tenant.tenant_id}"


def fixes_of(client, tenant, det_id) -> dict:
    resp = client.get(f"{base(tenant)}/detections/{det_id}/fixes", headers=tenant.headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


def fix_of_type(client, tenant, det_id, fix_type) -> dict:
    return next(f for f in fixes_of(client, tenant, det_id)["items"] if f["fix_type"] == fix_type)


def wait_for(client, tenant, op_id, done, timeout=30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        op = client.get(f"{base(tenant)}/healing/operations/{op_id}", headers=tenant.headers).json()
        if done(op):
            return op
        assert time.monotonic() < deadline, f"operation stuck: {json.dumps(op)[:2000]}"
        time.sleep(0.1)


def status_in(*statuses):
    return lambda op: op["status"] in statuses


def create(client, tenant, det_id, fix_id, target) -> dict:
    resp = client.post(f"{base(tenant)}/healing/operations", headers=tenant.headers,
                       json={"detection_id": det_id, "fix_id": fix_id, "target": target})
    assert resp.status_code == 201, resp.text
    return resp.json()


def execution_status(stack, op, timeout=10.0) -> str:
    """The execution's final status (its last task writes the operation's status just before it ends)."""
    import boto3

    sfn = boto3.client("stepfunctions", endpoint_url=stack.moto_url)
    deadline = time.monotonic() + timeout
    while True:
        status = sfn.describe_execution(executionArn=_execution_arn(op))["status"]
        if status != "RUNNING" or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def _execution_arn(op) -> str:
    from mao.adapters import healing

    record = healing.get_operation(op["tenant_id"], op["operation_id"])
    return record.execution_arn


# ---------------------------------------------------------------- fixes
def test_fix_ids_are_stable_and_a_fix_is_applied_by_id(client, tenant, other_tenant):
    det_id = seed_detection(tenant.tenant_id, "langgraph")
    first, second = fixes_of(client, tenant, det_id), fixes_of(client, tenant, det_id)
    assert first == second and first["framework"] == "langgraph" and first["detection_type"] == "loop"
    assert {f["fix_type"] for f in first["items"]} >= {"loop_guard", "recursion_limit", "retry_policy"}
    limit = next(f for f in first["items"] if f["fix_type"] == "recursion_limit")
    assert limit["patch"]["operations"][0]["path"] == "limits.recursion_limit" and limit["risk"] == "low"

    applied = client.post(f"{base(tenant)}/detections/{det_id}/fixes/{limit['fix_id']}/apply",
                          json={"note": "set in code"}, headers=tenant.headers)
    assert applied.status_code == 201, applied.text
    assert applied.json()["fix_id"] == limit["fix_id"] and applied.json()["applied_by"].startswith("key:")
    history = client.get(f"{base(tenant)}/healing/history", headers=tenant.headers).json()
    assert [h["fix_id"] for h in history["items"]] == [limit["fix_id"]] and history["total"] == 1

    assert_error(client.post(f"{base(tenant)}/detections/{det_id}/fixes/fix_0000/apply", headers=tenant.headers),
                 404, "not_found")
    assert_error(client.get(f"{base(tenant)}/detections/det_missing/fixes", headers=tenant.headers), 404, "not_found")
    assert_error(client.get(f"{base(tenant)}/detections/{det_id}/fixes", headers=other_tenant.headers),
                 404, "not_found")
    assert_error(client.get(f"{base(other_tenant)}/detections/{det_id}/fixes", headers=other_tenant.headers),
                 404, "not_found")


# ---------------------------------------------------------------- the full manual flow on n8n
def test_n8n_fix_is_approved_executed_verified_and_rolled_back(client, tenant, n8n, stack):
    det_id = seed_detection(tenant.tenant_id, "n8n")
    fix = fix_of_type(client, tenant, det_id, "retry_policy")
    assert fix["patch"]["target_kind"] == "n8n"
    target = {"type": "n8n", "base_url": n8n.base_url, "workflow_id": "wf1", "api_key": "n8n-key"}
    op = create(client, tenant, det_id, fix["fix_id"], target)
    assert op["status"] == "pending_approval" and op["target"]["api_key"] == "***"
    op_url = f"{base(tenant)}/healing/operations/{op['operation_id']}"

    op = wait_for(client, tenant, op["operation_id"], lambda o: o["awaiting_execution"])
    assert op["status"] == "pending_approval" and not op["auto_approved"]
    assert_error(client.post(f"{op_url}/execute", headers=tenant.headers), 409, "conflict")  # not approved
    assert_error(client.post(f"{op_url}/rollback", headers=tenant.headers), 409, "conflict")  # nothing applied
    assert client.post(f"{op_url}/approve", headers=tenant.headers).json()["status"] == "approved"
    assert_error(client.post(f"{op_url}/approve", headers=tenant.headers), 409, "conflict")
    assert client.post(f"{op_url}/execute", headers=tenant.headers).status_code == 202

    op = wait_for(client, tenant, op["operation_id"], status_in("verified", "rolled_back"))
    assert op["status"] == "verified", op
    node = n8n.workflows["wf1"]["nodes"][0]
    assert node["retryOnFail"] is True and node["maxTries"] == 3
    assert "retryOnFail" not in n8n.workflows["wf1"]["nodes"][1]  # only the node the detection named
    assert op["snapshot"]["workflow"]["nodes"][0] == WORKFLOW["nodes"][0]
    assert [h["status"] for h in op["status_history"]] == [
        "pending_approval", "approved", "executing", "applied", "verified"]
    assert op["verification"]["target"] == "verified" and op["rollback"]["available"]

    assert client.post(f"{op_url}/rollback", headers=tenant.headers).status_code == 202
    op = wait_for(client, tenant, op["operation_id"], status_in("rolled_back"))
    assert op["status"] == "rolled_back"
    restored = n8n.workflows["wf1"]
    assert restored["nodes"] == WORKFLOW["nodes"] and restored["settings"] == WORKFLOW["settings"]
    assert_error(client.post(f"{op_url}/rollback", headers=tenant.headers), 409, "conflict")
    history = client.get(f"{base(tenant)}/healing/history", headers=tenant.headers).json()["items"]
    assert history[0]["operation_id"] == op["operation_id"] and history[0]["rolled_back_at"]


def test_a_transient_target_error_is_retried(client, tenant, n8n):
    n8n.fail_puts = 1  # one 503, then fine
    det_id = seed_detection(tenant.tenant_id, "n8n")
    client.put(f"{base(tenant)}/healing/policy", json={"auto_approve_risks": ["low"]}, headers=tenant.headers)
    fix = fix_of_type(client, tenant, det_id, "loop_guard")
    op = create(client, tenant, det_id, fix["fix_id"],
                {"type": "n8n", "base_url": n8n.base_url, "workflow_id": "wf1", "api_key": "n8n-key"})
    op = wait_for(client, tenant, op["operation_id"], status_in("verified", "rolled_back"))
    assert op["status"] == "verified" and op["auto_approved"]
    assert n8n.workflows["wf1"]["nodes"][0]["onError"] == "stopWorkflow"


def test_a_change_that_does_not_take_fails_verification_and_is_rolled_back(client, tenant, n8n):
    n8n.ignore_writes = True
    det_id = seed_detection(tenant.tenant_id, "n8n")
    client.put(f"{base(tenant)}/healing/policy", json={"auto_approve_risks": ["low"]}, headers=tenant.headers)
    fix = fix_of_type(client, tenant, det_id, "retry_policy")
    op = create(client, tenant, det_id, fix["fix_id"],
                {"type": "n8n", "base_url": n8n.base_url, "workflow_id": "wf1", "api_key": "n8n-key"})
    op = wait_for(client, tenant, op["operation_id"], status_in("verified", "rolled_back"))
    assert op["status"] == "rolled_back"
    assert [h["status"] for h in op["status_history"]][-3:] == ["applied", "failed", "rolled_back"]
    assert op["error"]["error"] == "VerificationFailed" and op["verification"]["target"] == "failed"
    assert n8n.puts[-1]["nodes"] == WORKFLOW["nodes"]  # the snapshot was written back


# ---------------------------------------------------------------- webhook targets: Catch -> rollback
def test_a_failing_apply_takes_the_catch_branch_to_rollback(client, tenant, receiver, stack):
    hook = client.post(f"{base(tenant)}/healing/webhooks", json={"name": "ops", "url": receiver.url},
                       headers=tenant.headers)
    assert hook.status_code == 201, hook.text
    receiver.secret = hook.json()["secret"]
    receiver.answers["apply"] = "failed"
    det_id = seed_detection(tenant.tenant_id, "crewai")
    client.put(f"{base(tenant)}/healing/policy", json={"auto_approve_risks": ["low"]}, headers=tenant.headers)
    fix = fix_of_type(client, tenant, det_id, "recursion_limit")
    op = create(client, tenant, det_id, fix["fix_id"], {"type": "webhook", "webhook_id": hook.json()["webhook_id"]})
    op = wait_for(client, tenant, op["operation_id"], status_in("verified", "rolled_back"))
    assert op["status"] == "rolled_back" and op["error"]["error"] == "TargetApplyFailed"
    assert [h["status"] for h in op["status_history"]][-3:] == ["executing", "failed", "rolled_back"]
    assert [r["body"]["action"] for r in receiver.received] == ["apply", "rollback"]
    assert all(r["signature_valid"] for r in receiver.received)
    assert receiver.received[0]["body"]["plan"]["operations"] == fix["patch"]["operations"]
    assert execution_status(stack, {**op, "tenant_id": tenant.tenant_id}) == "FAILED"
    policy = client.get(f"{base(tenant)}/healing/policy", headers=tenant.headers).json()
    assert policy["last_rollback_at"]  # the cooldown starts


def test_a_failed_rollback_is_recorded_as_failed(client, tenant, receiver):
    hook = client.post(f"{base(tenant)}/healing/webhooks", json={"name": "ops", "url": receiver.url},
                       headers=tenant.headers).json()
    receiver.secret = hook["secret"]
    receiver.answers.update({"verify": "not yet", "rollback": "failed"})
    det_id = seed_detection(tenant.tenant_id, "autogen")
    client.put(f"{base(tenant)}/healing/policy", json={"auto_approve_risks": ["low"]}, headers=tenant.headers)
    fix = fix_of_type(client, tenant, det_id, "recursion_limit")
    op = create(client, tenant, det_id, fix["fix_id"], {"type": "webhook", "webhook_id": hook["webhook_id"]})
    op = wait_for(client, tenant, op["operation_id"], lambda o: o["status"] == "failed" and o["error"]
                  and o["error"]["error"] == "TargetApplyFailed")
    assert [r["body"]["action"] for r in receiver.received] == ["apply", "verify", "rollback"]


def test_webhook_urls_are_checked_against_ssrf(client, tenant, monkeypatch):
    monkeypatch.setenv("MAO_HEALING_ALLOWED_NETWORKS", "")
    for url in ("http://127.0.0.1:9/x", "https://169.254.169.254/latest", "ftp://example.com/x"):
        assert_error(client.post(f"{base(tenant)}/healing/webhooks", json={"name": "x", "url": url},
                                 headers=tenant.headers), 422, "validation_error")


# ---------------------------------------------------------------- MAO's agent configuration store
def test_a_low_risk_fix_under_an_auto_policy_runs_without_approval(client, tenant):
    det_id = seed_detection(tenant.tenant_id, "langgraph", details={"agent": "planner", "rounds": 5})
    cfg_url = f"{base(tenant)}/healing/agent-configs/planner"
    put = client.put(cfg_url, json={"config": {"model": "m", "limits": {"recursion_limit": 100}}},
                     headers=tenant.headers)
    assert put.status_code == 200 and put.json()["version"] == 1
    policy = client.put(f"{base(tenant)}/healing/policy", headers=tenant.headers,
                        json={"auto_approve_risks": ["low"], "max_auto_per_hour": 5, "cooldown_seconds": 600})
    assert policy.json()["auto_approve_risks"] == ["low"]
    fix = fix_of_type(client, tenant, det_id, "recursion_limit")
    op = create(client, tenant, det_id, fix["fix_id"], {"type": "agent_config", "agent_id": "planner"})
    op = wait_for(client, tenant, op["operation_id"], status_in("verified", "rolled_back"))
    assert op["status"] == "verified" and op["auto_approved"] and op["approved_by"] == "policy"
    assert "approved" in [h["status"] for h in op["status_history"]]
    current = client.get(cfg_url, headers=tenant.headers).json()
    assert current["version"] == 2 and current["config"]["limits"]["recursion_limit"] == 20
    assert current["config"]["model"] == "m" and current["source"] == f"healing:{op['operation_id']}"
    assert client.get(cfg_url, params={"version": 1}, headers=tenant.headers).json()["config"]["limits"] == {
        "recursion_limit": 100}

    # A medium-risk fix still waits for a person under the same policy.
    prompt = fix_of_type(client, tenant, det_id, "termination_condition")
    waiting = create(client, tenant, det_id, prompt["fix_id"], {"type": "agent_config", "agent_id": "planner"})
    waiting = wait_for(client, tenant, waiting["operation_id"], lambda o: o["awaiting_execution"])
    assert waiting["status"] == "pending_approval" and "requires approval" in waiting["plan"]["approval"]

    # Rolling back the verified one writes the old configuration as a new version and starts the cooldown.
    assert client.post(f"{base(tenant)}/healing/operations/{op['operation_id']}/rollback",
                       headers=tenant.headers).status_code == 202
    wait_for(client, tenant, op["operation_id"], status_in("rolled_back"))
    restored = client.get(cfg_url, headers=tenant.headers).json()
    assert restored["version"] == 3 and restored["config"]["limits"]["recursion_limit"] == 100
    cooled = create(client, tenant, det_id, fix["fix_id"], {"type": "agent_config", "agent_id": "planner"})
    cooled = wait_for(client, tenant, cooled["operation_id"], lambda o: o["awaiting_execution"])
    assert not cooled["auto_approved"] and "cooling down" in cooled["plan"]["approval"]


def test_a_rejected_operation_ends_the_state_machine(client, tenant, stack):
    det_id = seed_detection(tenant.tenant_id, "openai")
    fix = fix_of_type(client, tenant, det_id, "termination_condition")
    op = create(client, tenant, det_id, fix["fix_id"], {"type": "agent_config", "agent_id": "a1"})
    wait_for(client, tenant, op["operation_id"], lambda o: o["awaiting_execution"])
    url = f"{base(tenant)}/healing/operations/{op['operation_id']}"
    assert client.post(f"{url}/reject", json={"reason": "not now"}, headers=tenant.headers).json()["status"] == \
        "rejected"
    assert_error(client.post(f"{url}/execute", headers=tenant.headers), 409, "conflict")
    assert_error(client.post(f"{url}/approve", headers=tenant.headers), 409, "conflict")
    deadline = time.monotonic() + 20
    while execution_status(stack, {**op, "tenant_id": tenant.tenant_id}) == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert execution_status(stack, {**op, "tenant_id": tenant.tenant_id}) == "SUCCEEDED"
    assert client.get(f"{base(tenant)}/agent-configs/a1", headers=tenant.headers).status_code == 404


def test_a_state_machine_started_for_an_unknown_operation_fails_cleanly(stack):
    import boto3

    sfn = boto3.client("stepfunctions", endpoint_url=stack.moto_url)
    arn = stack.physical("HealingStateMachine").ref
    run = sfn.start_execution(stateMachineArn=arn, name=f"probe-{time.time_ns()}",
                              input=json.dumps({"action": "run", "tenant_id": "tn_x", "operation_id": "op_x"}))
    deadline = time.monotonic() + 20
    while (status := sfn.describe_execution(executionArn=run["executionArn"])["status"]) == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert status == "FAILED"
    events = sfn.get_execution_history(executionArn=run["executionArn"])["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    assert entered == ["Route", "Plan", "RecordFailure", "Failed"]


# ---------------------------------------------------------------- validation, listing, isolation
def test_operations_validate_input_filter_and_stay_within_the_tenant(client, tenant, other_tenant, n8n):
    det_id = seed_detection(tenant.tenant_id, "langgraph")
    fix = fix_of_type(client, tenant, det_id, "recursion_limit")
    ops = f"{base(tenant)}/healing/operations"
    bad = [{"detection_id": det_id, "fix_id": "nope", "target": {"type": "agent_config", "agent_id": "a"}},
           {"detection_id": det_id, "fix_id": fix["fix_id"], "target": {"type": "ftp"}},
           {"detection_id": det_id, "fix_id": fix["fix_id"],  # a configuration fix cannot go to an n8n workflow
            "target": {"type": "n8n", "base_url": n8n.base_url, "workflow_id": "wf1"}},
           {"detection_id": det_id, "fix_id": fix["fix_id"], "target": {"type": "webhook", "webhook_id": "wh_none"}}]
    for body in bad:
        assert_error(client.post(ops, json=body, headers=tenant.headers), 422, "validation_error")
    assert_error(client.post(ops, json={"detection_id": "det_none", "fix_id": fix["fix_id"],
                                        "target": {"type": "agent_config", "agent_id": "a"}}, headers=tenant.headers),
                 404, "not_found")
    assert_error(client.post(f"{base(other_tenant)}/healing/operations", headers=other_tenant.headers,
                             json={"detection_id": det_id, "fix_id": fix["fix_id"],
                                   "target": {"type": "agent_config", "agent_id": "a"}}), 404, "not_found")

    op = create(client, tenant, det_id, fix["fix_id"], {"type": "agent_config", "agent_id": "lister"})
    wait_for(client, tenant, op["operation_id"], lambda o: o["awaiting_execution"])
    listed = client.get(ops, params={"status": "pending_approval", "fix_type": "recursion_limit"},
                        headers=tenant.headers).json()
    assert [o["operation_id"] for o in listed["items"]] == [op["operation_id"]] and listed["total"] == 1
    assert client.get(ops, params={"fix_type": "loop_guard"}, headers=tenant.headers).json()["items"] == []
    assert client.get(ops, params={"page": 1, "page_size": 1}, headers=tenant.headers).json()["page_size"] == 1
    assert_error(client.get(ops, params={"status": "sleeping"}, headers=tenant.headers), 422, "validation_error")
    for path in ("", "/approve", "/execute", "/rollback"):
        method = client.get if not path else client.post
        assert_error(method(f"{ops}/{op['operation_id']}{path}", headers=other_tenant.headers), 404, "not_found")
        assert_error(method(f"{base(other_tenant)}/healing/operations/{op['operation_id']}{path}",
                            headers=other_tenant.headers), 404, "not_found")
    assert client.get(f"{base(other_tenant)}/healing/history", headers=other_tenant.headers).json()["items"] == []
    assert_error(client.put(f"{base(tenant)}/healing/policy", json={"auto_approve_risks": ["extreme"]},
                            headers=tenant.headers), 422, "validation_error")
