"""Ingest decode speed: OTLP protobuf and OTLP/JSON -> normalised spans, against plain parsing.

Generates a realistic export (multi-agent traces: agent, LLM and tool spans carrying GenAI and
OpenInference attributes, prompts and completions), then times ``decode_otlp`` (decode + normalise
+ agent attribution + cost) and, on the same bytes in the same run, protobuf ``ParseFromString``
and ``json.loads``. Reports spans/s and the ratio to the plain parse, best of several repeats.

    .venv/bin/python benchmarks/ingest_decode.py [--spans 10000] [--repeats 5] [--profile]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from typing import Any

MODELS = ("gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5", "claude-3-5-haiku-20241022", "in-house-llm")
TOOLS = ("web_search", "read_file", "run_python", "sql_query")
AGENTS = ("planner", "researcher", "coder", "reviewer")


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": value}}


def generate(n_spans: int, seed: int = 7) -> list[dict[str, Any]]:
    """Spans as plain dicts (hex ids, Python attribute values), ~50 spans per trace."""
    rng = random.Random(seed)
    spans: list[dict[str, Any]] = []
    t0 = 1_750_000_000_000_000_000
    while len(spans) < n_spans:
        trace_id = f"{rng.getrandbits(128):032x}"
        root_id = f"{rng.getrandbits(64):016x}"
        start = t0 + len(spans) * 1_000_000
        spans.append({"trace_id": trace_id, "span_id": root_id, "parent": None,
                      "name": "invoke_agent planner",
                      "start": start, "end": start + 60_000_000_000, "code": 0, "attrs": {
                          "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner",
                          "gen_ai.agent.id": "agent-planner", "gen_ai.conversation.id": f"conv-{len(spans)}",
                          "gen_ai.state": json.dumps({"step": 0, "plan": ["research", "code", "review"]})}})
        t = start + 1_000_000
        while len(spans) < n_spans and t < start + 49_000_000:
            agent = rng.choice(AGENTS[1:])
            agent_id = f"{rng.getrandbits(64):016x}"
            spans.append({"trace_id": trace_id, "span_id": agent_id, "parent": root_id,
                          "name": f"invoke_agent {agent}", "start": t, "end": t + 5_000_000, "code": 0,
                          "attrs": {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent,
                                    "gen_ai.agent.id": f"agent-{agent}"}})
            for _ in range(rng.randint(2, 5)):
                if len(spans) >= n_spans:
                    break
                t += 100_000
                if rng.random() < 0.6:
                    model = rng.choice(MODELS)
                    attrs: dict[str, Any] = {
                        "gen_ai.operation.name": "chat",
                        "gen_ai.provider.name": "anthropic" if model.startswith("claude") else "openai",
                        "gen_ai.request.model": model, "gen_ai.response.model": model,
                        "gen_ai.usage.input_tokens": rng.randint(200, 8000),
                        "gen_ai.usage.output_tokens": rng.randint(20, 1500),
                        "gen_ai.request.temperature": 0.2, "gen_ai.response.finish_reasons": "stop",
                        "gen_ai.prompt": "Summarise the findings so far. " * rng.randint(1, 6),
                        "gen_ai.completion": "The findings show a steady improvement. " * rng.randint(1, 4),
                        "server.address": "api.openai.com", "llm.is_streaming": False,
                    }
                    name = f"chat {model}"
                else:
                    tool = rng.choice(TOOLS)
                    attrs = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool,
                             "gen_ai.tool.call.id": f"call_{rng.getrandbits(32):08x}",
                             "gen_ai.tool.call.arguments": json.dumps({"query": "q" * rng.randint(5, 40)}),
                             "gen_ai.tool.call.result": "result " * rng.randint(1, 20)}
                    name = f"execute_tool {tool}"
                spans.append({"trace_id": trace_id, "span_id": f"{rng.getrandbits(64):016x}",
                              "parent": agent_id,
                              "name": name, "start": t, "end": t + rng.randint(10_000, 900_000),
                              "code": 2 if rng.random() < 0.03 else 0, "attrs": attrs})
            t += 5_100_000
    return spans[:n_spans]


def to_json(spans: list[dict[str, Any]]) -> bytes:
    out = []
    for s in spans:
        span = {"traceId": s["trace_id"], "spanId": s["span_id"], "name": s["name"], "kind": 1,
                "startTimeUnixNano": str(s["start"]), "endTimeUnixNano": str(s["end"]),
                "attributes": [_attr(k, v) for k, v in s["attrs"].items()], "status": {"code": s["code"]}}
        if s["parent"]:
            span["parentSpanId"] = s["parent"]
        out.append(span)
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [_attr("service.name", "research-crew"),
                                    _attr("telemetry.sdk.name", "opentelemetry")]},
        "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai_agents"}, "spans": out}],
    }]}).encode()


def to_protobuf(spans: list[dict[str, Any]]) -> bytes:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    for key, value in (("service.name", "research-crew"), ("telemetry.sdk.name", "opentelemetry")):
        kv = resource_spans.resource.attributes.add()
        kv.key, kv.value.string_value = key, value
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "opentelemetry.instrumentation.openai_agents"
    for s in spans:
        span = scope_spans.spans.add()
        span.trace_id = bytes.fromhex(s["trace_id"])
        span.span_id = bytes.fromhex(s["span_id"])
        if s["parent"]:
            span.parent_span_id = bytes.fromhex(s["parent"])
        span.name = s["name"]
        span.kind = 1
        span.start_time_unix_nano = s["start"]
        span.end_time_unix_nano = s["end"]
        span.status.code = s["code"]
        for key, value in s["attrs"].items():
            kv = span.attributes.add()
            kv.key = key
            if isinstance(value, bool):
                kv.value.bool_value = value
            elif isinstance(value, int):
                kv.value.int_value = value
            elif isinstance(value, float):
                kv.value.double_value = value
            else:
                kv.value.string_value = value
    return request.SerializeToString()


def best_of(fn: Callable[[], Any], repeats: int) -> float:
    """Best CPU time of the process (per core, so other load on the machine does not count)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the JSON path")
    args = parser.parse_args(argv)

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from mao.domain.formats import semconv
    from mao.domain.formats.otlp import decode_otlp

    spans = generate(args.spans)
    pb_body, json_body = to_protobuf(spans), to_json(spans)
    # warm-up: imports, price-table load, caches
    assert len(decode_otlp(pb_body, "application/x-protobuf").spans) == args.spans
    assert len(decode_otlp(json_body, "application/json").spans) == args.spans

    def parse_pb() -> None:
        ExportTraceServiceRequest().ParseFromString(pb_body)

    def cold(content_type: str, body: bytes) -> Callable[[], Any]:
        # every repetition prices its spans afresh, as a new export would
        def run() -> Any:
            semconv.span_cost.cache_clear()
            return decode_otlp(body, content_type)
        return run

    rows = [
        ("protobuf", len(pb_body), best_of(parse_pb, args.repeats),
         best_of(cold("application/x-protobuf", pb_body), args.repeats), "ParseFromString"),
        ("otlp/json", len(json_body), best_of(lambda: json.loads(json_body), args.repeats),
         best_of(cold("application/json", json_body), args.repeats), "json.loads"),
    ]
    try:
        import orjson
    except ImportError:
        orjson = None
    if orjson is not None:
        rows.append(("otlp/json", len(json_body), best_of(lambda: orjson.loads(json_body), args.repeats),
                     rows[1][3], "orjson.loads"))
    semconv.use_pricer(lambda *_: None)
    unpriced = best_of(lambda: decode_otlp(pb_body, "application/x-protobuf"), args.repeats)
    semconv.use_pricer(None)
    print(f"{args.spans} spans, best CPU time of {args.repeats} runs (spans per CPU-second = per core)")
    print(f"{'format':<10} {'bytes':>10} {'baseline':<16} {'base spans/s':>13} {'decode spans/s':>15} "
          f"{'ratio':>7}")
    for name, size, base, ours, base_name in rows:
        print(f"{name:<10} {size:>10} {base_name:<16} {args.spans / base:>13,.0f} "
              f"{args.spans / ours:>15,.0f} {ours / base:>6.1f}x")
    print(f"protobuf decode without pricing: {args.spans / unpriced:,.0f} spans/s "
          f"(pricing takes {100 * (1 - unpriced / rows[0][3]):.0f}% of the decode time)")
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        decode_otlp(json_body, "application/json")
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(15)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
