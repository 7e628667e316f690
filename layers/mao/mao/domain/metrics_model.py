"""The metric catalogue and its stored form (pure).

Every series is backed by a stored counter (one row per tenant and key, incremented atomically), so
every process reports the same numbers. Keys:

* ``total#traces`` / ``total#spans``: ingested traces and spans;
* ``det#<type>#<severity>``: detections;
* ``tok#<model>#<input|output>`` and ``cost#<model>``: tokens and cost (USD) by model;
* ``heal#<outcome>``: healing operations by outcome;
* ``hist#<latency>#<le>``: latency observations that fell in the bucket whose upper bound is ``le``
  (not cumulative; the row's ``sum`` holds the seconds observed in that bucket);
* ``usage#<YYYY-MM>#<spans|traces|detections>``: monthly usage against plan limits.

This module turns stored rows into a snapshot and renders it as Prometheus text, JSON or Datadog
series.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

LATENCY_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LATENCIES = ("ingest", "detection")
HEALING_OUTCOMES = ("succeeded", "failed", "rolled_back", "rejected", "pending")


@dataclass(frozen=True, slots=True)
class MetricDef:
    name: str  # Prometheus family name (counters get ``_total`` on exposition)
    kind: str  # counter | gauge | histogram
    help: str
    labels: tuple[str, ...]
    datadog: str  # Datadog metric name


CATALOGUE: tuple[MetricDef, ...] = (
    MetricDef("mao_traces_ingested", "counter", "Traces ingested.", ("tenant_id",), "mao.traces.ingested"),
    MetricDef("mao_spans_ingested", "counter", "Spans ingested.", ("tenant_id",), "mao.spans.ingested"),
    MetricDef("mao_detections", "counter", "Failure detections by type and severity.",
              ("tenant_id", "detection_type", "severity"), "mao.detections"),
    MetricDef("mao_tokens", "counter", "LLM tokens by model and direction.", ("tenant_id", "model", "direction"),
              "mao.tokens"),
    MetricDef("mao_cost_usd", "counter", "LLM cost in US dollars by model.", ("tenant_id", "model"), "mao.cost.usd"),
    MetricDef("mao_healing_operations", "counter", "Healing operations by outcome.", ("tenant_id", "outcome"),
              "mao.healing.operations"),
    MetricDef("mao_ingest_latency_seconds", "histogram", "Time from ingest request to stored trace.",
              ("tenant_id",), "mao.ingest.latency"),
    MetricDef("mao_detection_latency_seconds", "histogram", "Time to run detection on a trace.",
              ("tenant_id",), "mao.detection.latency"),
    MetricDef("mao_ingest_queue_depth", "gauge", "Messages in the ingest queue (operators only).", ("state",),
              "mao.ingest.queue.depth"),
)
BY_NAME = {m.name: m for m in CATALOGUE}
_HIST_FAMILY = {"ingest": "mao_ingest_latency_seconds", "detection": "mao_detection_latency_seconds"}


# ---------------------------------------------------------------------------------------- keys
def usage_key(period: str, kind: str) -> str:
    return f"usage#{period}#{kind}"


def detection_key(detection_type: str, severity: str) -> str:
    return f"det#{_clean(detection_type)}#{_clean(severity)}"


def token_key(model: str, direction: str) -> str:
    return f"tok#{model or 'unknown'}#{direction}"


def cost_key(model: str) -> str:
    return f"cost#{model or 'unknown'}"


def healing_key(outcome: str) -> str:
    return f"heal#{_clean(outcome)}"


def _clean(value: str) -> str:
    return (value or "unknown").replace("#", "_")


def bucket_bound(seconds: float) -> str:
    """The upper bound (as stored) of the bucket an observation falls in."""
    i = bisect.bisect_left(LATENCY_BUCKETS, seconds)
    return _fmt_le(LATENCY_BUCKETS[i]) if i < len(LATENCY_BUCKETS) else "+Inf"


def histogram_key(latency: str, seconds: float) -> str:
    if latency not in LATENCIES:
        raise ValueError(f"unknown latency {latency!r}; expected one of {LATENCIES}")
    return f"hist#{latency}#{bucket_bound(seconds)}"


def _fmt_le(bound: float) -> str:
    return repr(float(bound))


# ---------------------------------------------------------------------------------------- snapshot
@dataclass(frozen=True, slots=True)
class CounterRow:
    tenant_id: str
    key: str
    value: float
    sum: float | None = None


@dataclass
class Histogram:
    counts: dict[str, int] = field(default_factory=dict)  # le -> count in that bucket (not cumulative)
    sum: float = 0.0

    def cumulative(self) -> list[tuple[str, int]]:
        out, running = [], 0
        for bound in [*map(_fmt_le, LATENCY_BUCKETS), "+Inf"]:
            running += self.counts.get(bound, 0)
            out.append((bound, running))
        return out

    @property
    def count(self) -> int:
        return sum(self.counts.values())


@dataclass
class Snapshot:
    """Series values: family name -> {label tuple -> value}, histograms per tenant, queue gauges."""

    counters: dict[str, dict[tuple[str, ...], float]] = field(default_factory=dict)
    histograms: dict[str, dict[str, Histogram]] = field(default_factory=dict)  # family -> tenant -> hist
    queue_depth: dict[str, int] | None = None

    def add(self, family: str, labels: tuple[str, ...], value: float) -> None:
        series = self.counters.setdefault(family, {})
        series[labels] = series.get(labels, 0.0) + value


def build_snapshot(rows: Iterable[CounterRow], queue_depth: dict[str, int] | None = None) -> Snapshot:
    snap = Snapshot(queue_depth=queue_depth)
    for row in rows:
        head, _, rest = row.key.partition("#")
        t = row.tenant_id
        if head == "total" and rest in ("traces", "spans"):
            snap.add(f"mao_{rest}_ingested", (t,), row.value)
        elif head == "det":
            dtype, _, severity = rest.rpartition("#")
            snap.add("mao_detections", (t, dtype, severity), row.value)
        elif head == "tok":
            model, _, direction = rest.rpartition("#")
            snap.add("mao_tokens", (t, model, direction), row.value)
        elif head == "cost":
            snap.add("mao_cost_usd", (t, rest), row.value)
        elif head == "heal":
            snap.add("mao_healing_operations", (t, rest), row.value)
        elif head == "hist":
            latency, _, bound = rest.partition("#")
            family = _HIST_FAMILY.get(latency)
            if family is None:
                continue
            hist = snap.histograms.setdefault(family, {}).setdefault(t, Histogram())
            hist.counts[bound] = hist.counts.get(bound, 0) + int(row.value)
            hist.sum += float(row.sum or 0.0)
    return snap


# ---------------------------------------------------------------------------------------- renderers
def prometheus_families(snap: Snapshot) -> list[Any]:
    """prometheus_client metric families for a custom collector."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

    families: list[Any] = []
    for mdef in CATALOGUE:
        if mdef.kind == "counter":
            fam = CounterMetricFamily(mdef.name, mdef.help, labels=list(mdef.labels))
            for labels, value in sorted(snap.counters.get(mdef.name, {}).items()):
                fam.add_metric(list(labels), value)
            families.append(fam)
        elif mdef.kind == "histogram":
            hfam = HistogramMetricFamily(mdef.name, mdef.help, labels=list(mdef.labels))
            for tenant, hist in sorted(snap.histograms.get(mdef.name, {}).items()):
                hfam.add_metric([tenant], [(le, float(c)) for le, c in hist.cumulative()], hist.sum)
            families.append(hfam)
        elif mdef.kind == "gauge" and snap.queue_depth is not None:
            gfam = GaugeMetricFamily(mdef.name, mdef.help, labels=list(mdef.labels))
            for state, value in sorted(snap.queue_depth.items()):
                gfam.add_metric([state], float(value))
            families.append(gfam)
    return families


def to_prometheus_text(snap: Snapshot) -> bytes:
    """Prometheus text exposition format 0.0.4 (what ``promtool check metrics`` reads)."""
    from prometheus_client import CollectorRegistry, generate_latest

    class _Collector:
        def collect(self) -> list[Any]:
            return prometheus_families(snap)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector())  # type: ignore[arg-type]
    return generate_latest(registry)


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() and math.isfinite(value) else round(value, 10)


def to_json(snap: Snapshot) -> dict[str, Any]:
    metrics: list[dict[str, Any]] = []
    for mdef in CATALOGUE:
        entry: dict[str, Any] = {"name": mdef.name, "type": mdef.kind, "help": mdef.help,
                                 "labels": list(mdef.labels), "series": []}
        if mdef.kind == "counter":
            for labels, value in sorted(snap.counters.get(mdef.name, {}).items()):
                entry["series"].append({"labels": dict(zip(mdef.labels, labels, strict=True)),
                                        "value": _number(value)})
        elif mdef.kind == "histogram":
            for tenant, hist in sorted(snap.histograms.get(mdef.name, {}).items()):
                entry["series"].append({"labels": {"tenant_id": tenant}, "count": hist.count,
                                        "sum": _number(hist.sum),
                                        "buckets": [{"le": le, "count": c} for le, c in hist.cumulative()]})
        elif snap.queue_depth is None:
            continue
        else:
            for state, value in sorted(snap.queue_depth.items()):
                entry["series"].append({"labels": {"state": state}, "value": value})
        metrics.append(entry)
    return {"metrics": metrics}


@dataclass(frozen=True, slots=True)
class DatadogPoint:
    metric: str
    value: float
    tags: tuple[str, ...]


def to_datadog(snap: Snapshot) -> list[DatadogPoint]:
    """Gauges of the cumulative values (Datadog's ``monotonic_diff`` turns them into rates)."""
    points: list[DatadogPoint] = []
    for mdef in CATALOGUE:
        if mdef.kind == "counter":
            for labels, value in sorted(snap.counters.get(mdef.name, {}).items()):
                tags = tuple(f"{k}:{v}" for k, v in zip(mdef.labels, labels, strict=True))
                points.append(DatadogPoint(mdef.datadog, float(value), tags))
        elif mdef.kind == "histogram":
            for tenant, hist in sorted(snap.histograms.get(mdef.name, {}).items()):
                tags = (f"tenant_id:{tenant}",)
                points.append(DatadogPoint(f"{mdef.datadog}.count", float(hist.count), tags))
                points.append(DatadogPoint(f"{mdef.datadog}.sum", float(hist.sum), tags))
                for le, c in hist.cumulative():
                    points.append(DatadogPoint(f"{mdef.datadog}.bucket", float(c), (*tags, f"le:{le}")))
        elif snap.queue_depth is not None:
            for state, value in sorted(snap.queue_depth.items()):
                points.append(DatadogPoint(mdef.datadog, float(value), (f"state:{state}",)))
    return points


def datadog_dashboard(tenant_id: str | None) -> dict[str, Any]:
    """An importable Datadog dashboard (``POST /api/v1/dashboard`` body) over the catalogue's metrics."""
    scope = "$tenant_id"
    widgets: list[dict[str, Any]] = []
    for mdef in CATALOGUE:
        if mdef.kind == "counter":
            by = [lbl for lbl in mdef.labels if lbl != "tenant_id"]
            group = "{" + scope + "}" + (" by {" + ",".join(by) + "}" if by else "")
            query = f"monotonic_diff(sum:{mdef.datadog}{group})"
            display = "bars"
        elif mdef.kind == "histogram":
            query = f"sum:{mdef.datadog}.sum{{{scope}}} / sum:{mdef.datadog}.count{{{scope}}}"
            display = "line"
        else:
            query = f"max:{mdef.datadog}{{*}} by {{state}}"
            display = "line"
        widgets.append({"definition": {"type": "timeseries", "title": mdef.help.rstrip("."),
                                       "show_legend": True,
                                       "requests": [{"q": query, "display_type": display}]}})
    return {
        "title": "MAO multi-agent observability" + (f" ({tenant_id})" if tenant_id else ""),
        "description": "Ingest volume, failure detections, tokens and cost, healing and latency, "
                       "as exported by MAO's metrics flush.",
        "layout_type": "ordered",
        "template_variables": [{"name": "tenant_id", "prefix": "tenant_id",
                                "default": tenant_id or "*"}],
        "widgets": widgets,
    }
