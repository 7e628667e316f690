import time

import pytest

from tests.e2e.test_ingest_otlp import export, hex_id, ingest_url, json_span, wait_for_trace

pytestmark = pytest.mark.e2e


def url(tenant_id: str, suffix: str = "") -> str:
    return f"/api/v1/tenants/{tenant_id}/workflow-groups{suffix}"


def ingest_named_trace(client, tenant, name: str, agents: int) -> str:
    t0 = time.time_ns()
    trace_id, root = hex_id(16), hex_id(8)
    spans = [json_span(trace_id, root, name, t0, t0 + 9_000_000, status=1)]
    for i in range(agents):
        spans.append(json_span(trace_id, hex_id(8), f"invoke_agent a{i}", t0 + i + 1, t0 + 1_000_000, parent=root,
                               gen_ai__operation__name="invoke_agent", gen_ai__agent__name=f"a{i}"))
    assert client.post(ingest_url(tenant), json=export(*spans), headers=tenant.headers).status_code == 202
    wait_for_trace(client, tenant, trace_id, len(spans))
    return trace_id


def test_create_get_update_list_and_delete(client, tenant):
    h = tenant.headers
    created = client.post(url(tenant.tenant_id), json={"name": "Billing", "rules": {"name_pattern": "^billing"},
                                                       "workflow_ids": ["billing-a", "billing-a"]}, headers=h)
    assert created.status_code == 201, created.text
    group = created.json()
    assert group["workflows"] == ["billing-a"] and group["match_mode"] == "all"
    gid = group["group_id"]
    assert client.get(url(tenant.tenant_id, f"/{gid}"), headers=h).json()["name"] == "Billing"
    updated = client.put(url(tenant.tenant_id, f"/{gid}"), json={"match_mode": "any", "rules": {"sources": ["n8n"]}},
                         headers=h).json()
    assert updated["match_mode"] == "any" and updated["rules"] == {"sources": ["n8n"]} and updated["name"] == "Billing"
    assert [g["group_id"] for g in client.get(url(tenant.tenant_id), headers=h).json()["items"]] == [gid]
    assert client.delete(url(tenant.tenant_id, f"/{gid}"), headers=h).json()["deleted"] is True
    assert client.get(url(tenant.tenant_id, f"/{gid}"), headers=h).status_code == 404


def test_validation_errors_name_the_field(client, tenant):
    h = tenant.headers
    for body, field in [({"name": "x", "rules": {"name_pattern": "(a+)+$"}}, "rules.name_pattern"),
                        ({"name": "x", "rules": {"name_pattern": "a" * 201}}, "rules.name_pattern"),
                        ({"name": "x", "rules": {"grades": ["Z"]}}, "rules.grades"),
                        ({"name": "x", "rules": {"unknown": 1}}, "rules.unknown")]:
        resp = client.post(url(tenant.tenant_id), json=body, headers=h)
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"]["details"][0]["field"] == field
    assert client.post(url(tenant.tenant_id), json={"name": ""}, headers=h).status_code == 422
    assert client.post(url(tenant.tenant_id), json={"name": "x", "match_mode": "some"}, headers=h).status_code == 422
    gid = client.post(url(tenant.tenant_id), json={"name": "manual"}, headers=h).json()["group_id"]
    assert client.post(url(tenant.tenant_id, f"/{gid}/workflows"), json={"workflow_ids": []},
                       headers=h).status_code == 422
    no_rules = client.post(url(tenant.tenant_id, f"/{gid}/auto-detect"), headers=h)
    assert no_rules.status_code == 422 and no_rules.json()["error"]["details"][0]["field"] == "rules"


def test_assign_and_auto_detect_report_without_duplicates(client, tenant):
    h = tenant.headers
    ingest_named_trace(client, tenant, "billing-refunds", agents=1)
    ingest_named_trace(client, tenant, "billing-disputes", agents=5)
    ingest_named_trace(client, tenant, "support-chat", agents=5)
    gid = client.post(url(tenant.tenant_id), json={"name": "billing", "rules": {
        "name_pattern": "^billing-", "complexity": ["complex"]}}, headers=h).json()["group_id"]
    first = client.post(url(tenant.tenant_id, f"/{gid}/auto-detect"), headers=h).json()
    assert first["assigned"] == ["billing-disputes"] and first["workflows_evaluated"] == 3
    client.put(url(tenant.tenant_id, f"/{gid}"), json={"match_mode": "any"}, headers=h)
    second = client.post(url(tenant.tenant_id, f"/{gid}/auto-detect"), json={"days": 7}, headers=h).json()
    assert sorted(second["assigned"]) == ["billing-refunds", "support-chat"]
    assert second["already_assigned"] == ["billing-disputes"]
    assert sorted(second["group"]["workflows"]) == ["billing-disputes", "billing-refunds", "support-chat"]
    manual = client.post(url(tenant.tenant_id, f"/{gid}/workflows"),
                         json={"workflow_ids": ["support-chat", "custom-1"]}, headers=h).json()
    assert manual["assigned"] == ["custom-1"] and manual["already_assigned"] == ["support-chat"]
    assert manual["group"]["workflow_count"] == 4


def test_another_tenants_groups_are_not_found(client, tenant, other_tenant):
    gid = client.post(url(other_tenant.tenant_id), json={"name": "theirs"},
                      headers=other_tenant.headers).json()["group_id"]
    h = tenant.headers
    assert client.get(url(tenant.tenant_id, f"/{gid}"), headers=h).status_code == 404
    assert client.put(url(tenant.tenant_id, f"/{gid}"), json={"name": "x"}, headers=h).status_code == 404
    assert client.delete(url(tenant.tenant_id, f"/{gid}"), headers=h).status_code == 404
    assert client.post(url(tenant.tenant_id, f"/{gid}/workflows"), json={"workflow_ids": ["a"]},
                       headers=h).status_code == 404
    assert client.post(url(tenant.tenant_id, f"/{gid}/auto-detect"), headers=h).status_code == 404
    assert client.get(url(other_tenant.tenant_id), headers=h).status_code == 404
    assert client.post(url(other_tenant.tenant_id), json={"name": "x"}, headers=h).status_code == 404
