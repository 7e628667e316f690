"""Detections over HTTP: every list filter, one detection with its evidence, validation."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.test_analyze import LOOPING, analyze_conversation, detections_of, ingest

pytestmark = pytest.mark.e2e


def det_base(tenant) -> str:
    return f"/api/v1/tenants/{tenant.tenant_id}/detections"


@pytest.fixture
def analysed(client, tenant):
    """Two analysed conversations of one tenant: (conversation id, detections) each."""
    out = []
    for _ in range(2):
        conv_id = ingest(client, tenant, "generic", LOOPING)
        out.append((conv_id, analyze_conversation(client, tenant, conv_id)["detections"]))
    return out


def ids(page) -> set[str]:
    return {d["id"] for d in page["items"]}


def test_the_list_is_newest_first_and_filters_by_source_and_type(client, tenant, analysed):
    everything = detections_of(client, tenant)
    all_ids = {d["id"] for _, dets in analysed for d in dets}
    assert ids(everything) == all_ids and everything["total"] == len(all_ids)
    created = [d["created_at"] for d in everything["items"]]
    assert created == sorted(created, reverse=True)

    conv_id, dets = analysed[0]
    assert ids(detections_of(client, tenant, conversation_id=conv_id)) == {d["id"] for d in dets}
    assert detections_of(client, tenant, trace_id=conv_id)["items"] == []  # a conversation is not a trace

    kind = dets[0]["detection_type"]
    of_kind = detections_of(client, tenant, detection_type=kind)
    assert of_kind["items"] and all(d["detection_type"] == kind for d in of_kind["items"])
    assert ids(of_kind) == {d["id"] for _, ds in analysed for d in ds if d["detection_type"] == kind}
    assert detections_of(client, tenant, detection_type="no_such_type")["items"] == []


def test_confidence_and_date_filters(client, tenant, analysed):
    all_dets = [d for _, dets in analysed for d in dets]
    cut = sorted(d["confidence"] for d in all_dets)[len(all_dets) // 2]
    high = detections_of(client, tenant, confidence_min=cut)
    assert ids(high) == {d["id"] for d in all_dets if d["confidence"] >= cut}
    low = detections_of(client, tenant, confidence_max=cut)
    assert ids(low) == {d["id"] for d in all_dets if d["confidence"] <= cut}

    now = datetime.now(UTC)
    assert ids(detections_of(client, tenant, date_from=(now - timedelta(hours=1)).isoformat())) == ids(high) | ids(low)
    assert detections_of(client, tenant, date_from=(now + timedelta(hours=1)).isoformat())["items"] == []
    assert detections_of(client, tenant, date_to=(now - timedelta(days=1)).date().isoformat())["items"] == []
    today = detections_of(client, tenant, date_from=now.date().isoformat(), date_to=now.date().isoformat())
    assert today["total"] == len({d["id"] for d in all_dets})


def test_pages_cover_the_list_without_overlap(client, tenant, analysed):
    total = detections_of(client, tenant)["total"]
    seen: list[str] = []
    page = 1
    while True:
        body = detections_of(client, tenant, page=page, page_size=2)
        seen += [d["id"] for d in body["items"]]
        if not body["has_more"]:
            break
        page += 1
    assert len(seen) == len(set(seen)) == total


def test_one_detection_has_explanation_evidence_and_failure_mode(client, tenant, analysed):
    det = next(d for d in analysed[0][1] if d["f_code"])
    resp = client.get(f"{det_base(tenant)}/{det['id']}", headers=tenant.headers)
    assert resp.status_code == 200
    body = resp.json()
    assert body["explanation"] and body["evidence"] and body["evidence"][0]["quote"]
    assert body["failure_mode"]["code"] == det["f_code"] and body["failure_mode"]["name"]
    assert body["validated"] is None and body["detector_version"]


def test_validation_is_stored_filtered_and_kept_across_re_analysis(client, tenant, analysed):
    conv_id, dets = analysed[0]
    first, second = dets[0]["id"], dets[1]["id"] if len(dets) > 1 else None
    resp = client.post(f"{det_base(tenant)}/{first}/validate", json={"is_valid": True, "feedback": "real loop"},
                       headers=tenant.headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["validated"] is True and body["validation_feedback"] == "real loop" and body["validated_at"]
    if second:
        resp = client.post(f"{det_base(tenant)}/{second}/validate", json={"is_valid": False}, headers=tenant.headers)
        assert resp.json()["validated"] is False

    assert ids(detections_of(client, tenant, validated="true")) == {first}
    if second:
        assert ids(detections_of(client, tenant, validated="false")) == {second}
    unvalidated = detections_of(client, tenant, validated="none")
    assert first not in ids(unvalidated) and unvalidated["items"]

    analyze_conversation(client, tenant, conv_id)
    again = client.get(f"{det_base(tenant)}/{first}", headers=tenant.headers).json()
    assert again["validated"] is True and again["validation_feedback"] == "real loop"


def test_bad_filters_and_bodies_are_422(client, tenant):
    url = det_base(tenant)
    for params in ({"validated": "maybe"}, {"confidence_min": 1.5}, {"confidence_min": 0.9, "confidence_max": 0.1},
                   {"date_from": "yesterday"}, {"date_from": "2025-02-01", "date_to": "2025-01-01"},
                   {"page_size": 0}):
        resp = client.get(url, params=params, headers=tenant.headers)
        assert resp.status_code == 422, (params, resp.text)
        assert resp.json()["error"]["code"] == "validation_error"
    resp = client.post(f"{url}/det_000/validate", json={"feedback": "no verdict"}, headers=tenant.headers)
    assert resp.status_code == 422


def test_unknown_and_foreign_detections_are_404(client, tenant, other_tenant, analysed):
    det_id = analysed[0][1][0]["id"]
    for headers, base in ((other_tenant.headers, det_base(tenant)), (other_tenant.headers, det_base(other_tenant))):
        assert client.get(f"{base}/{det_id}", headers=headers).status_code == 404
        resp = client.post(f"{base}/{det_id}/validate", json={"is_valid": True}, headers=headers)
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    assert client.get(det_base(tenant), headers=other_tenant.headers).status_code == 404
    assert detections_of(client, other_tenant)["items"] == []
    assert client.get(f"{det_base(tenant)}/det_unknown", headers=tenant.headers).status_code == 404
    assert client.get(f"{det_base(tenant)}/..%2F..", headers=tenant.headers).status_code == 404
