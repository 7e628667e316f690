"""Builders of realistic OTLP payloads: the real OpenTelemetry SDK and its OTLP encoder."""

from __future__ import annotations

import base64
import json
from typing import Any

# A small, fixed price table so cost assertions do not depend on the maintained table's prices.
PRICES_PER_MTOK = {"gpt-4o-mini": (0.15, 0.60), "claude-sonnet-4-5": (3.0, 15.0)}


def fake_pricer(model: str, input_tokens: int, output_tokens: int, provider: str | None) -> float | None:
    price = PRICES_PER_MTOK.get(model)
    if price is None:
        return None
    return (input_tokens * price[0] + output_tokens * price[1]) / 1e6


def record_multi_agent_run() -> list[Any]:
    """A root agent delegating to two sub-agents, each calling a model and a tool (GenAI conventions)."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import Status, StatusCode

    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "research-crew"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("opentelemetry.instrumentation.openai_agents", "0.1.0")

    def chat(input_tokens: int, output_tokens: int, prompt: str, answer: str) -> None:
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            span.set_attributes({
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.response.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": input_tokens,
                "gen_ai.usage.output_tokens": output_tokens,
                "gen_ai.prompt": prompt,
                "gen_ai.completion": answer,
            })

    def tool(name: str, call_id: str, args: dict[str, Any], result: str, fail: bool = False) -> None:
        with tracer.start_as_current_span(f"execute_tool {name}") as span:
            span.set_attributes({
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": name,
                "gen_ai.tool.call.id": call_id,
                "gen_ai.tool.call.arguments": json.dumps(args),
                "gen_ai.tool.call.result": result,
            })
            if fail:
                span.set_status(Status(StatusCode.ERROR, "timeout after 30s"))

    with tracer.start_as_current_span("invoke_agent orchestrator") as root:
        root.set_attributes({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "orchestrator",
                             "gen_ai.agent.id": "agent-orch", "gen_ai.conversation.id": "conv-42",
                             "gen_ai.state": json.dumps({"plan": ["research", "write"], "done": []})})
        chat(1200, 150, "Plan the report on battery recycling", "1. research 2. write")
        with tracer.start_as_current_span("invoke_agent researcher") as researcher:
            researcher.set_attributes({"gen_ai.operation.name": "invoke_agent",
                                       "gen_ai.agent.name": "researcher", "gen_ai.agent.id": "agent-res"})
            chat(800, 60, "Find sources on battery recycling", "call web_search")
            tool("web_search", "call_1", {"q": "battery recycling rates"}, "3 results", fail=True)
            tool("web_search", "call_2", {"q": "battery recycling rates 2024"}, "5 results")
            chat(2000, 400, "Summarise the results", "Recycling rates rose to 59%.")
        with tracer.start_as_current_span("invoke_agent writer") as writer:
            writer.set_attributes({"gen_ai.operation.name": "invoke_agent",
                                   "gen_ai.agent.name": "writer", "gen_ai.agent.id": "agent-wri"})
            chat(2500, 900, "Write the report", "Battery recycling report ...")
    provider.shutdown()
    return list(exporter.get_finished_spans())


def encode_request(spans: list[Any]) -> Any:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    return encode_spans(spans)


def request_to_json(request: Any, hex_ids: bool) -> bytes:
    """OTLP/JSON of a request: protobuf's generic conversion (base64 ids) or the OTLP spec (hex ids)."""
    from google.protobuf.json_format import MessageToDict

    data = MessageToDict(request)
    if hex_ids:
        for resource_spans in data.get("resourceSpans", []):
            for scope_spans in resource_spans.get("scopeSpans", []):
                for span in scope_spans.get("spans", []):
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if key in span:
                            span[key] = base64.b64decode(span[key]).hex()
    return json.dumps(data).encode()


def otlp_json(spans: list[dict[str, Any]], resource: dict[str, Any] | None = None,
              scope: str = "test") -> bytes:
    """A hand-built OTLP/JSON export around span objects (for malformed-span cases)."""
    attrs = [{"key": k, "value": {"stringValue": v}} for k, v in (resource or {}).items()]
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": attrs},
        "scopeSpans": [{"scope": {"name": scope}, "spans": spans}],
    }]}).encode()
