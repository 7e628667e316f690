"""Tenant analytics over a window of days: loops, cost, quality.

Every figure is aggregated while the stored items stream past (paged queries, newest first); only
per-day, per-method, per-framework and per-model counters are kept, never the items themselves.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from mao.domain.grades import QualityAggregate, quality_score

LOOP_TYPES = ("loop", "step_repetition")


def window(days: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    end = now or datetime.now(UTC)
    return end - timedelta(days=days), end


def _day(when: datetime) -> str:
    return when.astimezone(UTC).date().isoformat()


def _days(since: datetime, until: datetime) -> list[str]:
    first, last = since.astimezone(UTC).date(), until.astimezone(UTC).date()
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def loops(tenant_id: str, days: int, now: datetime | None = None) -> dict[str, Any]:
    from mao.adapters import detections

    since, until = window(days, now)
    by_method: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    agents: Counter[str] = Counter()
    daily: Counter[str] = Counter()
    sources: set[str] = set()
    confidence_total = 0.0
    total = 0
    for det_type in LOOP_TYPES:
        for record in detections.list_for_tenant(tenant_id, since=since, detection_type=det_type):
            details = record.details or {}
            total += 1
            by_type[det_type] += 1
            by_method[str(details.get("method") or det_type)] += 1
            found = details.get("agents") or ([details["agent"]] if details.get("agent") else [])
            for agent in set(map(str, found)):
                agents[agent] += 1
            daily[_day(record.created_at)] += 1
            sources.add(f"{record.source_kind}#{record.source_id}")
            confidence_total += float(record.confidence)
    return {
        "days": days, "since": since.isoformat(), "until": until.isoformat(),
        "total_loops": total,
        "affected_runs": len(sources),
        "average_confidence": round(confidence_total / total, 4) if total else None,
        "by_method": dict(by_method.most_common()),
        "by_detection_type": dict(by_type),
        "affected_agents": [{"agent_id": a, "loops": n} for a, n in agents.most_common(50)],
        "affected_agent_count": len(agents),
        "daily": [{"date": d, "loops": daily.get(d, 0)} for d in _days(since, until)],
    }


def _model_costs(tenant_id: str, trace_id: str) -> dict[str, list[float]]:
    """Per-model [cost, tokens] of a trace's spans (for traces that used several models)."""
    from mao.adapters import traces

    out: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for item in traces.iter_span_items(tenant_id, trace_id):
        span = traces.item_span(item)
        if span.model:
            entry = out[span.model]
            entry[0] += span.cost_usd or 0.0
            entry[1] += (span.input_tokens or 0) + (span.output_tokens or 0)
    return out


def cost(tenant_id: str, days: int, now: datetime | None = None) -> dict[str, Any]:
    from mao.adapters import traces

    since, until = window(days, now)
    query, _count = traces.list_traces_query(tenant_id, start_from=int(since.timestamp() * 1e9))
    frameworks: dict[str, dict[str, float]] = defaultdict(lambda: {"cost_usd": 0.0, "tokens": 0, "traces": 0})
    models: dict[str, dict[str, float]] = defaultdict(lambda: {"cost_usd": 0.0, "tokens": 0, "traces": 0})
    daily: dict[str, dict[str, float]] = defaultdict(lambda: {"cost_usd": 0.0, "tokens": 0, "traces": 0})
    total_cost, total_tokens, count, unpriced = 0.0, 0, 0, 0
    for record in query(None, None):
        summary = traces.loads(record.summary)
        trace_cost = summary.get("cost_usd")
        tokens = int(summary.get("total_tokens") or 0)
        if trace_cost is None or not summary.get("cost_complete", True):
            unpriced += 1
        spent = float(trace_cost or 0.0)
        count += 1
        total_cost += spent
        total_tokens += tokens
        day = datetime.fromtimestamp(int(record.start_ns) / 1e9, tz=UTC).date().isoformat()
        for table, key in ((frameworks, summary.get("framework") or "unknown"), (daily, day)):
            row = table[key]
            row["cost_usd"] += spent
            row["tokens"] += tokens
            row["traces"] += 1
        used = [m for m in summary.get("models") or [] if m]
        if len(used) == 1:
            row = models[used[0]]
            row["cost_usd"] += spent
            row["tokens"] += tokens
            row["traces"] += 1
        elif used:
            for model, (model_cost, model_tokens) in _model_costs(tenant_id, record.trace_id).items():
                row = models[model]
                row["cost_usd"] += model_cost
                row["tokens"] += model_tokens
                row["traces"] += 1

    def rows(table: dict[str, dict[str, float]], key: str) -> list[dict[str, Any]]:
        return [{key: k, "cost_usd": round(v["cost_usd"], 6), "tokens": int(v["tokens"]), "traces": int(v["traces"])}
                for k, v in sorted(table.items(), key=lambda kv: -kv[1]["cost_usd"])]

    return {
        "days": days, "since": since.isoformat(), "until": until.isoformat(),
        "total_cost_usd": round(total_cost, 6), "total_tokens": total_tokens, "trace_count": count,
        "unpriced_traces": unpriced,
        "by_framework": rows(frameworks, "framework"),
        "by_model": rows(models, "model"),
        "daily": [{"date": d, "cost_usd": round(daily[d]["cost_usd"], 6) if d in daily else 0.0,
                   "tokens": int(daily[d]["tokens"]) if d in daily else 0,
                   "traces": int(daily[d]["traces"]) if d in daily else 0} for d in _days(since, until)],
    }


def run_score(tenant_id: str, record: Any) -> float:
    """Quality score of one stored analysis (its detections' severity and confidence)."""
    from mao.adapters import detections

    findings: list[tuple[str, float]] = []
    if record.detection_ids:
        kind, _, source_id = record.source.partition("#")
        findings = [(d.severity, float(d.confidence)) for d in detections.for_source(tenant_id, kind, source_id)]
    return quality_score(findings, errored=bool(record.failed))


def quality(tenant_id: str, days: int, now: datetime | None = None) -> dict[str, Any]:
    from mao.adapters import detections

    since, until = window(days, now)
    agg = QualityAggregate()
    by_kind: Counter[str] = Counter()
    for record in detections.AnalysisModel.query(tenant_id,
                                                 filter_condition=detections.AnalysisModel.analyzed_at >= since):
        agg.add(run_score(tenant_id, record), _day(record.analyzed_at))
        by_kind[record.source.partition("#")[0]] += 1
    return {"days": days, "since": since.isoformat(), "until": until.isoformat(), **agg.to_dict(),
            "by_source_kind": dict(by_kind)}
