import json

import pytest

pytestmark = pytest.mark.e2e


def url(tenant_id: str, suffix: str = "") -> str:
    return f"/api/v1/tenants/{tenant_id}/settings/thresholds{suffix}"


def assert_field_error(resp, field: str) -> None:
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "validation_error"
    assert any(d["field"] == field for d in resp.json()["error"]["details"]), resp.text


def test_defaults_are_public_and_carry_ranges_and_named_fields(client, tenant):
    resp = client.get(url(tenant.tenant_id, "/defaults"))
    assert resp.status_code == 200
    body = resp.json()
    assert body["detectors"]["loop"]["max_period"]["minimum"] == 2
    assert "loop.max_period" in body["named_fields"]["loop_detection_window"]["targets"]
    assert_field_error(client.get(url(tenant.tenant_id, "/defaults"), params={"framework": "cobol"}), "framework")


def test_put_get_and_framework_overrides_resolve_in_order(client, tenant):
    h = tenant.headers
    resp = client.put(url(tenant.tenant_id), json={"structural_threshold": 0.95, "loop_detection_window": 7,
                                                   "frameworks": {"crewai": {"loop_detection_window": 5}}},
                      headers=h)
    assert resp.status_code == 200, resp.text
    assert resp.json()["named_fields"]["loop_detection_window"] == 7
    crewai = client.get(url(tenant.tenant_id), params={"framework": "crewai"}, headers=h).json()
    assert crewai["effective"]["loop"]["max_period"] == 5
    assert crewai["effective"]["loop"]["similarity"] == 0.95
    assert crewai["global"]["detectors"]["step_repetition"] == {"similarity": 0.95}


def test_put_rejects_out_of_range_and_unknown_keys_with_the_field(client, tenant):
    h = tenant.headers
    assert_field_error(client.put(url(tenant.tenant_id), json={"loop_detection_window": 99}, headers=h),
                       "loop_detection_window")
    assert_field_error(client.put(url(tenant.tenant_id), json={"nonsense": 1}, headers=h), "nonsense")
    assert_field_error(client.put(url(tenant.tenant_id), json={"detectors": {"loop": {"min_repeats": "x"}}},
                                  headers=h), "detectors.loop.min_repeats")
    assert_field_error(client.put(url(tenant.tenant_id), content=b"{not json", headers=h), "body")
    assert client.get(url(tenant.tenant_id), headers=h).json()["global"]["detectors"] == {}


def test_delete_resets_one_framework_or_everything(client, tenant):
    h = tenant.headers
    client.put(url(tenant.tenant_id), json={"loop_min_repeats": 4,
                                            "frameworks": {"dify": {"loop_min_repeats": 6}}}, headers=h)
    after = client.delete(url(tenant.tenant_id), params={"framework": "dify"}, headers=h).json()
    assert after["frameworks"] == {} and after["global"]["detectors"] == {"loop": {"min_repeats": 4}}
    assert client.delete(url(tenant.tenant_id), headers=h).json()["global"]["detectors"] == {}
    assert_field_error(client.delete(url(tenant.tenant_id), params={"framework": "cobol"}, headers=h), "framework")


def test_preview_applies_changes_without_persisting(client, tenant):
    h = tenant.headers
    resp = client.get(url(tenant.tenant_id, "/preview"),
                      params={"loop_min_repeats": "5", "changes": json.dumps({"injection_threshold": 0.95})},
                      headers=h)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["effective"]["loop"]["min_repeats"] == 5 and body["persisted"] is False
    assert body["changed"]["prompt_injection.min_score"]["proposed"] == 0.95
    assert client.get(url(tenant.tenant_id), headers=h).json()["effective"]["loop"]["min_repeats"] == 3
    assert_field_error(client.get(url(tenant.tenant_id, "/preview"), params={"loop_min_repeats": "1"}, headers=h),
                       "loop_min_repeats")


def test_another_tenants_settings_are_not_found(client, tenant, other_tenant):
    for method in ("GET", "PUT", "DELETE"):
        resp = client.request(method, url(other_tenant.tenant_id), headers=tenant.headers,
                              **({"json": {"loop_min_repeats": 4}} if method == "PUT" else {}))
        assert resp.status_code == 404, (method, resp.text)
    assert client.get(url(other_tenant.tenant_id, "/preview"), headers=tenant.headers).status_code == 404
    assert client.get(url(tenant.tenant_id)).status_code == 401
