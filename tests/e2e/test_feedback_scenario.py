"""The feedback loop end to end: analyse real runs, judge a detector's hits, take the recommended
threshold, re-analyse, and see fewer false positives."""

import json

import pytest

pytestmark = pytest.mark.e2e

DETECTOR = "premature_termination"
# Short Who&When runs on which the detector fires with a spread of confidences.
RECORD_IDS = ("Hand-Crafted/24", "Algorithm-Generated/122", "Algorithm-Generated/76", "Hand-Crafted/43",
              "Hand-Crafted/57", "Hand-Crafted/5", "Hand-Crafted/12", "Hand-Crafted/25")


def analyse(client, tenant, conversation_ids) -> dict[str, float]:
    hits: dict[str, float] = {}
    for cid in conversation_ids:
        resp = client.post(f"/api/v1/tenants/{tenant.tenant_id}/conversations/{cid}/analyze", headers=tenant.headers)
        assert resp.status_code == 200, resp.text
        for det in resp.json()["detections"]:
            if (det.get("detection_type") or det.get("type")) == DETECTOR:
                hits[det["detection_id"]] = det["confidence"]
    return hits


def test_feedback_on_low_confidence_hits_raises_the_threshold_and_cuts_false_positives(
        client, tenant, datasets_dir):
    wanted = set(RECORD_IDS)
    records = [r for r in map(json.loads, (datasets_dir / "who-and-when" / "dev.jsonl").open()) if r["id"] in wanted]
    assert len(records) == len(RECORD_IDS)
    h, base = tenant.headers, f"/api/v1/tenants/{tenant.tenant_id}"
    ids = []
    for record in records:
        resp = client.post(f"{base}/conversations/ingest", json={"format": "generic", "data": record}, headers=h)
        assert resp.status_code in (200, 201), resp.text
        ids.append(resp.json()["conversation_id"])

    before = analyse(client, tenant, ids)
    assert len(set(before.values())) > 1, "the scenario needs hits of different confidence"
    cut = (min(before.values()) + max(before.values())) / 2
    false_hits = {d for d, c in before.items() if c < cut}
    for det_id in before:
        kind = "false_positive" if det_id in false_hits else "true_positive"
        assert client.post(f"{base}/feedback", json={"detection_id": det_id, "feedback_type": kind},
                           headers=h).status_code == 201

    recs = client.get(f"{base}/feedback/recommendations", params={"detection_type": DETECTOR}, headers=h).json()
    [rec] = recs["items"]
    assert rec["action"] == "raise", rec
    assert rec["recommended_value"] > rec["current_value"]
    assert rec["expected"]["precision"] > rec["current"]["precision"]
    assert rec["sample_size"] == len(before)

    applied = client.put(f"{base}/settings/thresholds", json=rec["apply"]["body"], headers=h)
    assert applied.status_code == 200, applied.text

    after = analyse(client, tenant, ids)
    assert len(false_hits & set(after)) < len(false_hits)
    assert set(before) - false_hits <= set(after), "true positives must survive the raised threshold"
    stats = client.get(f"{base}/feedback/stats", headers=h).json()["by_detection_type"][DETECTOR]
    assert stats["counts"]["false_positive"] == len(false_hits)
