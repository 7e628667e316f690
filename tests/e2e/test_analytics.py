import time

import pytest

from mao.domain.pricing import cost_usd
from tests.e2e.test_ingest_otlp import export, hex_id, ingest_url, json_span, wait_for_trace

pytestmark = pytest.mark.e2e

REPEATED = "Searching the supplier catalogue for part numbers matching the request, one moment please."


def ingest_looping_two_model_trace(client, tenant) -> str:
    t0 = time.time_ns()
    trace_id, root = hex_id(16), hex_id(8)
    spans = [json_span(trace_id, root, "invoke_agent worker", t0, t0 + 90_000_000, status=1,
                       gen_ai__operation__name="invoke_agent", gen_ai__agent__name="worker",
                       gen_ai__agent__id="worker")]
    for i in range(4):
        spans.append(json_span(trace_id, hex_id(8), "chat", t0 + (i + 1) * 10_000_000, t0 + (i + 1) * 10_000_000 + 5,
                               parent=root, gen_ai__operation__name="chat", gen_ai__request__model="gpt-4o-mini",
                               gen_ai__usage__input_tokens=1000, gen_ai__usage__output_tokens=100,
                               gen_ai__input__messages="Find the part", gen_ai__output__messages=REPEATED))
    spans.append(json_span(trace_id, hex_id(8), "chat", t0 + 60_000_000, t0 + 61_000_000, parent=root,
                           gen_ai__operation__name="chat", gen_ai__request__model="gpt-4o",
                           gen_ai__usage__input_tokens=500, gen_ai__usage__output_tokens=50,
                           gen_ai__input__messages="Summarise", gen_ai__output__messages="Nothing found."))
    assert client.post(ingest_url(tenant), json=export(*spans, service="parts-bot"),
                       headers=tenant.headers).status_code == 202
    wait_for_trace(client, tenant, trace_id, len(spans))
    return trace_id


def test_analytics_over_an_ingested_and_analysed_trace(client, tenant):
    h, base = tenant.headers, f"/api/v1/tenants/{tenant.tenant_id}"
    trace_id = ingest_looping_two_model_trace(client, tenant)
    analysis = client.post(f"{base}/traces/{trace_id}/analyze", headers=h)
    assert analysis.status_code == 200, analysis.text
    found = [d["detection_type"] for d in analysis.json()["detections"]]

    cost = client.get(f"{base}/analytics/cost", params={"days": 7}, headers=h).json()
    assert cost["trace_count"] == 1 and len(cost["daily"]) in (7, 8)
    by_model = {row["model"]: row for row in cost["by_model"]}
    assert by_model["gpt-4o-mini"]["cost_usd"] == pytest.approx(4 * cost_usd("gpt-4o-mini", 1000, 100, None), rel=1e-4)
    assert by_model["gpt-4o"]["cost_usd"] == pytest.approx(cost_usd("gpt-4o", 500, 50, None), rel=1e-4)
    assert cost["total_cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in cost["by_model"]), rel=1e-4)
    assert sum(d["cost_usd"] for d in cost["daily"]) == pytest.approx(cost["total_cost_usd"], rel=1e-4)

    loops = client.get(f"{base}/analytics/loops", headers=h).json()
    assert loops["total_loops"] == sum(1 for t in found if t in ("loop", "step_repetition"))
    assert loops["total_loops"] >= 1, found
    assert loops["affected_runs"] == 1 and len(loops["daily"]) in (30, 31)

    quality = client.get(f"{base}/analytics/quality", headers=h).json()
    assert quality["count"] == 1 and sum(quality["grades"].values()) == 1
    assert quality["average_score"] < 100 and set(quality["grade_scale"]) == {"A", "B", "C", "D", "F"}


@pytest.mark.parametrize("days", ["0", "366", "soon"])
def test_days_outside_1_to_365_is_a_validation_error(client, tenant, days):
    for kind in ("loops", "cost", "quality"):
        resp = client.get(f"/api/v1/tenants/{tenant.tenant_id}/analytics/{kind}", params={"days": days},
                          headers=tenant.headers)
        assert resp.status_code == 422, resp.text


def test_empty_tenant_and_foreign_tenant(client, tenant, other_tenant):
    empty = client.get(f"/api/v1/tenants/{tenant.tenant_id}/analytics/quality", headers=tenant.headers).json()
    assert empty["count"] == 0 and empty["average_score"] is None
    for kind in ("loops", "cost", "quality"):
        resp = client.get(f"/api/v1/tenants/{other_tenant.tenant_id}/analytics/{kind}", headers=tenant.headers)
        assert resp.status_code == 404
