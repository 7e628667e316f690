"""Metrics: record into stored counters, read them back as Prometheus text, JSON or Datadog series.

Writers (the ingest worker, the detection path, healing) call the ``record_*`` functions; every
number is a DynamoDB counter, so all Lambda instances report the same values. A tenant sees only
its own series; an operator sees every tenant's plus the ingest queue depth.

Datadog configuration: ``MAO_DATADOG_API_KEY``, ``MAO_DATADOG_SITE`` and optionally
``MAO_DATADOG_API_URL`` (a full base URL that overrides the site).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from mao.adapters import usage
from mao.api.errors import ApiError
from mao.domain import metrics_model as mm
from mao.domain.plans import period_of


# ------------------------------------------------------------------------------------------ writers
def record_ingested(tenant_id: str, traces: int, spans: int,
                    tokens_by_model: Mapping[str, tuple[int, int]] | None = None,
                    cost_by_model: Mapping[str, float] | None = None) -> None:
    """Stored traces and spans, with (input, output) tokens and USD cost per model."""
    inc: dict[str, float] = {"total#traces": traces, "total#spans": spans}
    for model, (tokens_in, tokens_out) in (tokens_by_model or {}).items():
        inc[mm.token_key(model, "input")] = tokens_in
        inc[mm.token_key(model, "output")] = tokens_out
    for model, cost in (cost_by_model or {}).items():
        inc[mm.cost_key(model)] = float(cost)
    usage.add(tenant_id, inc)


def record_detections(tenant_id: str, detections: Iterable[tuple[str, str]], now: float | None = None) -> None:
    """Detections as (type, severity) pairs; also counts the tenant's monthly detections."""
    counts = Counter(mm.detection_key(t, s) for t, s in detections)
    if not counts:
        return
    from datetime import UTC, datetime

    period = period_of(datetime.fromtimestamp(now if now is not None else time.time(), UTC))
    usage.add(tenant_id, {**counts, mm.usage_key(period, "detections"): sum(counts.values())})


def record_healing(tenant_id: str, outcome: str) -> None:
    usage.add(tenant_id, {mm.healing_key(outcome): 1})


def record_latency(tenant_id: str, latency: str, seconds: float) -> None:
    """One observation of ``ingest`` or ``detection`` latency into the stored histogram."""
    seconds = max(0.0, float(seconds))
    key = mm.histogram_key(latency, seconds)
    usage.add(tenant_id, {key: 1}, sums={key: seconds})


# ------------------------------------------------------------------------------------------ readers
def queue_depth() -> dict[str, int] | None:
    url = os.environ.get("MAO_INGEST_QUEUE_URL", "")
    if not url:
        return None
    from mao.adapters.aws import client

    attrs = client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                                      "ApproximateNumberOfMessagesDelayed"])["Attributes"]
    return {"visible": int(attrs.get("ApproximateNumberOfMessages", 0)),
            "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
            "delayed": int(attrs.get("ApproximateNumberOfMessagesDelayed", 0))}


def snapshot(tenant_id: str | None) -> mm.Snapshot:
    """The tenant's series, or every tenant's plus the queue depth when ``tenant_id`` is None (operator)."""
    if tenant_id is None:
        return mm.build_snapshot(usage.all_rows(), queue_depth())
    return mm.build_snapshot(usage.rows(tenant_id))


def prometheus_text(tenant_id: str | None) -> bytes:
    os.environ.setdefault("PROMETHEUS_DISABLE_CREATED_SERIES", "true")
    return mm.to_prometheus_text(snapshot(tenant_id))


def as_json(tenant_id: str | None) -> dict[str, Any]:
    return {"scope": "all_tenants" if tenant_id is None else "tenant", "tenant_id": tenant_id,
            "generated_at": int(time.time()), **mm.to_json(snapshot(tenant_id))}


# ------------------------------------------------------------------------------------------ Datadog
def _datadog_config() -> tuple[str, str, str]:
    return (os.environ.get("MAO_DATADOG_API_KEY", "").strip(),
            os.environ.get("MAO_DATADOG_SITE", "").strip() or "datadoghq.com",
            os.environ.get("MAO_DATADOG_API_URL", "").strip())


def datadog_flush(tenant_id: str | None, now: int | None = None) -> dict[str, Any]:
    api_key, site, api_url = _datadog_config()
    if not api_key:
        raise ApiError(409, "not_configured", "Datadog is not configured on this deployment: "
                       "set the Datadog API key (MAO_DATADOG_API_KEY) to enable the flush")
    from datadog_api_client import ApiClient, Configuration
    from datadog_api_client.exceptions import ApiException
    from datadog_api_client.v2.api.metrics_api import MetricsApi
    from datadog_api_client.v2.model.metric_intake_type import MetricIntakeType
    from datadog_api_client.v2.model.metric_payload import MetricPayload
    from datadog_api_client.v2.model.metric_point import MetricPoint
    from datadog_api_client.v2.model.metric_series import MetricSeries

    points = mm.to_datadog(snapshot(tenant_id))
    timestamp = int(now if now is not None else time.time())
    series = [MetricSeries(metric=p.metric, type=MetricIntakeType.GAUGE, tags=[*p.tags, "source:mao"],
                           points=[MetricPoint(timestamp=timestamp, value=p.value)]) for p in points]
    config = Configuration(host=api_url or None)
    config.api_key["apiKeyAuth"] = api_key
    if not api_url:
        config.server_variables["site"] = site
    config.retries = 2
    if series:
        try:
            with ApiClient(config) as api_client:
                MetricsApi(api_client).submit_metrics(body=MetricPayload(series=series))
        except ApiException as exc:
            raise ApiError(502, "upstream_error", f"Datadog refused the series: HTTP {exc.status}",
                           {"status": exc.status}) from None
        except Exception as exc:  # network failures
            raise ApiError(502, "upstream_error", f"could not reach Datadog: {type(exc).__name__}") from None
    return {"flushed": True, "series": len(series), "metrics": sorted({p.metric for p in points}),
            "timestamp": timestamp, "site": None if api_url else site}


def datadog_dashboard(tenant_id: str | None) -> dict[str, Any]:
    return mm.datadog_dashboard(tenant_id)
