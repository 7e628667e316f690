import pytest

from mao.domain.models import Detection, Evidence

pytestmark = pytest.mark.e2e


def url(tenant_id: str, suffix: str = "") -> str:
    return f"/api/v1/tenants/{tenant_id}/feedback{suffix}"


def seed_detections(tenant_id: str, source_id: str, confidences: list[float],
                    detection_type: str = "ignored_input") -> list[str]:
    """Detections as an analysis would store them (the feedback API only reads them)."""
    from mao.adapters import detections

    found = [(f"det_{source_id}_{i}", Detection(type=detection_type, confidence=c, severity="medium",
                                               explanation="seeded", evidence=[Evidence(ref=f"s{i}", quote="q")],
                                               detector_version="1"))
             for i, c in enumerate(confidences)]
    detections.replace_for_source(tenant_id, "trace", source_id, found)
    return [det_id for det_id, _ in found]


def test_submit_list_and_resubmit_replaces(client, tenant):
    h = tenant.headers
    [det] = seed_detections(tenant.tenant_id, "fb-one", [0.7])
    resp = client.post(url(tenant.tenant_id), json={"detection_id": det, "feedback_type": "false_positive",
                                                    "comment": "benign retry"}, headers=h)
    assert resp.status_code == 201, resp.text
    assert resp.json()["detection_type"] == "ignored_input" and resp.json()["replaced_earlier_feedback"] is False
    again = client.post(url(tenant.tenant_id), json={"detection_id": det, "feedback_type": "true_positive"},
                        headers=h)
    assert again.json()["replaced_earlier_feedback"] is True
    listed = client.get(url(tenant.tenant_id), headers=h).json()
    assert listed["total"] == 1 and listed["items"][0]["feedback_type"] == "true_positive"
    detection = client.get(f"/api/v1/tenants/{tenant.tenant_id}/detections/{det}", headers=h).json()
    assert detection["validated"] is True


def test_submit_validates_its_input(client, tenant):
    h = tenant.headers
    bad = client.post(url(tenant.tenant_id), json={"detection_id": "x", "feedback_type": "maybe"}, headers=h)
    assert bad.status_code == 422
    assert client.post(url(tenant.tenant_id), json={"feedback_type": "true_positive"}, headers=h).status_code == 422
    missing = client.post(url(tenant.tenant_id), json={"detection_id": "det_nope", "feedback_type": "true_positive"},
                          headers=h)
    assert missing.status_code == 404
    assert client.get(url(tenant.tenant_id), params={"page_size": 0}, headers=h).status_code == 422
    assert client.get(url(tenant.tenant_id, "/recommendations"), params={"min_recall": 2},
                      headers=h).status_code == 422


def test_stats_count_feedback_and_validations_once_each(client, tenant):
    h = tenant.headers
    dets = seed_detections(tenant.tenant_id, "fb-stats", [0.6, 0.7, 0.8, 0.9])
    for det, kind in zip(dets[:3], ["false_positive", "true_positive", "true_positive"], strict=True):
        client.post(url(tenant.tenant_id), json={"detection_id": det, "feedback_type": kind}, headers=h)
    validated = client.post(f"/api/v1/tenants/{tenant.tenant_id}/detections/{dets[3]}/validate",
                            json={"is_valid": True}, headers=h)
    assert validated.status_code == 200, validated.text
    stats = client.get(url(tenant.tenant_id, "/stats"), headers=h).json()
    row = stats["by_detection_type"]["ignored_input"]
    assert row["counts"] == {"true_positive": 3, "false_positive": 1, "true_negative": 0, "false_negative": 0}
    assert row["precision"] == 0.75 and row["insufficient_data"] is True
    assert stats["overall"]["total"] == 4


def test_recommendation_raises_the_gate_above_low_confidence_false_positives(client, tenant):
    h = tenant.headers
    fps = seed_detections(tenant.tenant_id, "fb-rec-a", [0.56, 0.58, 0.6, 0.62])
    tps = seed_detections(tenant.tenant_id, "fb-rec-b", [0.72, 0.8, 0.85, 0.9, 0.95])
    for det in fps:
        client.post(url(tenant.tenant_id), json={"detection_id": det, "feedback_type": "false_positive"}, headers=h)
    for det in tps:
        client.post(url(tenant.tenant_id), json={"detection_id": det, "feedback_type": "true_positive"}, headers=h)
    body = client.get(url(tenant.tenant_id, "/recommendations"), headers=h).json()
    [item] = body["items"]
    assert item["action"] == "raise" and item["threshold"] == "min_confidence"
    assert item["current_value"] == 0.55 and item["recommended_value"] == 0.72
    assert item["expected"]["precision"] == 1.0 > item["current"]["precision"]
    assert item["sample_size"] == 9
    assert item["apply"]["body"] == {"detectors": {"ignored_input": {"min_confidence": 0.72}}}


def test_another_tenants_feedback_is_not_found(client, tenant, other_tenant):
    [det] = seed_detections(other_tenant.tenant_id, "fb-foreign", [0.7])
    h = tenant.headers
    for path in ("", "/stats", "/recommendations"):
        assert client.get(url(other_tenant.tenant_id, path), headers=h).status_code == 404
    own_path = client.post(url(tenant.tenant_id), json={"detection_id": det, "feedback_type": "true_positive"},
                           headers=h)
    assert own_path.status_code == 404  # a foreign detection id is as unknown as a missing one
