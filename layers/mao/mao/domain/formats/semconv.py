"""Semantic conventions: map span attributes onto the shared :class:`~mao.domain.models.Span`.

Three conventions are understood side by side, because real clients mix them:

* OpenTelemetry GenAI (``gen_ai.*``, development status): operation name, agent id/name, provider,
  request/response model, token usage (current and older key names), tool name and call id,
  conversation id, prompt and completion content.
* OpenInference (Arize Phoenix; most LangGraph/CrewAI instrumentations): ``openinference.span.kind``,
  ``llm.model_name``, ``llm.token_count.*``, ``input.value``/``output.value``, ``tool.name``,
  ``agent.name``, ``graph.node.id``.
* OpenLLMetry (Traceloop): ``traceloop.span.kind``, ``traceloop.entity.name`` plus ``gen_ai.*`` and
  ``llm.*`` keys.

Agent attribution is a separate pass (:func:`assign_agents`): a span's own agent attributes win,
otherwise it belongs to its nearest ancestor agent span, so LLM and tool calls made inside a
sub-agent are counted for that sub-agent and not for the orchestrator above it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from mao.domain.models import Span, SpanKind, Status

# --- span kind -----------------------------------------------------------------------------------

_OPENINFERENCE_KIND: dict[str, SpanKind] = {
    "AGENT": "agent",
    "LLM": "llm",
    "TOOL": "tool",
    "CHAIN": "chain",
    "RETRIEVER": "retrieval",
    "RERANKER": "retrieval",
    "EMBEDDING": "embedding",
    "GUARDRAIL": "other",
    "EVALUATOR": "other",
}
_TRACELOOP_KIND: dict[str, SpanKind] = {
    "workflow": "workflow",
    "task": "chain",
    "agent": "agent",
    "tool": "tool",
}
_GENAI_OPERATION_KIND: dict[str, SpanKind] = {
    "chat": "llm",
    "text_completion": "llm",
    "generate_content": "llm",
    "completion": "llm",
    "embeddings": "embedding",
    "embedding": "embedding",
    "create_agent": "agent",
    "invoke_agent": "agent",
    "invoke_workflow": "workflow",
    "execute_tool": "tool",
    "retrieval": "retrieval",
    "retrieve": "retrieval",
}
_LLM_REQUEST_TYPE_KIND: dict[str, SpanKind] = {
    "chat": "llm",
    "completion": "llm",
    "embedding": "embedding",
    "rerank": "retrieval",
}

# --- attribute keys, in order of preference ------------------------------------------------------

_AGENT_NAME_KEYS = ("gen_ai.agent.name", "agent.name", "crewai.agent.role")
_AGENT_ID_KEYS = ("gen_ai.agent.id", "agent.id")
_ROLE_KEYS = ("gen_ai.agent.role", "agent.role", "crewai.agent.role")
_MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model", "llm.model_name", "llm.response.model",
               "llm.request.model")
_PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
_INPUT_TOKEN_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt",
                     "llm.usage.prompt_tokens")
_OUTPUT_TOKEN_KEYS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
                      "llm.token_count.completion", "llm.usage.completion_tokens")
_TOTAL_TOKEN_KEYS = ("llm.token_count.total", "llm.usage.total_tokens", "gen_ai.usage.total_tokens")
_TOOL_NAME_KEYS = ("gen_ai.tool.name", "tool.name")
_TOOL_CALL_ID_KEYS = ("gen_ai.tool.call.id", "tool_call.id", "tool.call.id")
_INPUT_KEYS = ("input.value", "gen_ai.input.messages", "gen_ai.prompt", "gen_ai.tool.call.arguments",
               "traceloop.entity.input", "tool.parameters")
_OUTPUT_KEYS = ("output.value", "gen_ai.output.messages", "gen_ai.completion", "gen_ai.tool.call.result",
                "traceloop.entity.output")
_STATE_KEYS = ("gen_ai.state", "langgraph.state", "graph.state", "agent.state", "crewai.state", "state")
_COST_KEYS = ("gen_ai.usage.cost", "llm.usage.cost", "llm.cost.total")

_FIELD_KEYS: dict[str, tuple[str, ...]] = {
    "agent_name": _AGENT_NAME_KEYS, "agent_id": _AGENT_ID_KEYS, "role": _ROLE_KEYS, "model": _MODEL_KEYS,
    "provider": _PROVIDER_KEYS, "input_tokens": _INPUT_TOKEN_KEYS, "output_tokens": _OUTPUT_TOKEN_KEYS,
    "total_tokens": _TOTAL_TOKEN_KEYS, "tool_name": _TOOL_NAME_KEYS, "tool_call_id": _TOOL_CALL_ID_KEYS,
    "input": _INPUT_KEYS, "output": _OUTPUT_KEYS, "state": _STATE_KEYS, "cost": _COST_KEYS,
}
# attribute key -> the (field, preference) slots it can fill; one pass over a span's attributes
# then finds every field, instead of probing each field's candidate keys in turn.
_KEY_SLOTS: dict[str, tuple[tuple[str, int], ...]] = {}
for _field, _keys in _FIELD_KEYS.items():
    for _rank, _key in enumerate(_keys):
        _KEY_SLOTS[_key] = (*_KEY_SLOTS.get(_key, ()), (_field, _rank))


def collect_fields(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Field name -> value of the most preferred attribute key present (empty values skipped)."""
    found: dict[str, Any] = {}
    ranks: dict[str, int] = {}
    slots_of = _KEY_SLOTS.get
    for key, value in attrs.items():
        slots = slots_of(key)
        if slots is None or value is None or value == "":
            continue
        for field_name, rank in slots:
            if rank < ranks.get(field_name, 99):
                ranks[field_name] = rank
                found[field_name] = value
    return found

# --- framework hints -----------------------------------------------------------------------------

# Substrings of instrumentation scope names, service names or SDK names, first match wins; the
# specific frameworks come before the general ones they build on (LangGraph runs on LangChain).
_FRAMEWORK_MARKERS: tuple[tuple[str, str], ...] = (
    ("langgraph", "langgraph"),
    ("crewai", "crewai"),
    ("autogen", "autogen"),
    ("ag2", "autogen"),
    ("openai_agents", "openai-agents"),
    ("openai-agents", "openai-agents"),
    ("openai.agents", "openai-agents"),
    ("n8n", "n8n"),
    ("dify", "dify"),
    ("openclaw", "openclaw"),
    ("claude-code", "claude-code"),
    ("claude_code", "claude-code"),
    ("langchain", "langchain"),
)
# First segment of attribute keys that only one framework writes.
_FRAMEWORK_ATTR_PREFIX: dict[str, str] = {
    "langgraph": "langgraph",
    "crewai": "crewai",
    "autogen": "autogen",
    "langchain": "langchain",
    "n8n": "n8n",
    "dify": "dify",
    "openclaw": "openclaw",
}


def framework_from_names(*names: str | None) -> str:
    """Framework named by an instrumentation scope, service or SDK name; ``"unknown"`` if none."""
    for name in names:
        if not name:
            continue
        low = name.lower()
        for marker, framework in _FRAMEWORK_MARKERS:
            if marker in low:
                return framework
    return "unknown"


def framework_from_resource(resource: Mapping[str, Any], scope_name: str | None) -> str:
    """Framework hint computed once per resource and scope (not per span)."""
    return framework_from_names(
        scope_name,
        _str(resource.get("service.name")),
        _str(resource.get("telemetry.sdk.name")),
        _str(resource.get("telemetry.distro.name")),
    )


def _framework_from_attributes(name: str, attrs: Mapping[str, Any]) -> str:
    if "graph.node.id" in attrs or name == "LangGraph":
        return "langgraph"
    for key in attrs:
        head = key.split(".", 1)[0]
        found = _FRAMEWORK_ATTR_PREFIX.get(head)
        if found:
            return found
    return "unknown"


# --- small converters ----------------------------------------------------------------------------


def _str(value: Any) -> str | None:
    if value.__class__ is str:
        return value or None
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _int(value: Any) -> int | None:
    if value.__class__ is int:
        return value if value >= 0 else None
    if value is None or isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        try:
            number = int(float(value))
        except (TypeError, ValueError):
            return None
    return number if number >= 0 else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def parse_state(value: Any) -> dict[str, Any] | None:
    """A state payload as a dict: JSON strings are parsed, other values wrapped as ``{"value": v}``."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "["):
            try:
                parsed = json.loads(stripped)
            except ValueError:
                return {"value": value}
            return parsed if isinstance(parsed, dict) else {"value": parsed}
    return {"value": value}


def _indexed_content(attrs: Mapping[str, Any], prefix: str) -> str | None:
    """Last ``<prefix>.<n>.content`` value (OpenLLMetry's indexed prompts/completions)."""
    best_index = -1
    best: Any = None
    plen = len(prefix)
    for key, value in attrs.items():
        if key.startswith(prefix) and key.endswith(".content"):
            index = key[plen:-8]
            if index.isdigit() and int(index) > best_index:
                best_index, best = int(index), value
    return _text(best)


# --- cost ----------------------------------------------------------------------------------------


def _load_pricer() -> Callable[..., Any] | None:
    try:
        from mao.domain.pricing import cost_usd
    except ImportError:
        return None
    return cost_usd


_PRICER: list[Callable[..., Any] | None] = []


def use_pricer(pricer: Callable[..., Any] | None) -> None:
    """Price spans with ``pricer(model, input_tokens, output_tokens, provider)`` from now on.

    ``None`` restores the default (the maintained price table in :mod:`mao.domain.pricing`).
    """
    _PRICER.clear()
    if pricer is not None:
        _PRICER.append(pricer)
    span_cost.cache_clear()


@lru_cache(maxsize=4096)
def span_cost(model: str, input_tokens: int, output_tokens: int, provider: str | None) -> float | None:
    """Cost of one model call from the maintained price table; ``None`` when the model is unknown."""
    if not _PRICER:
        _PRICER.append(_load_pricer())
    pricer = _PRICER[0]
    if pricer is None:
        return None
    try:
        cost = pricer(model, input_tokens, output_tokens, provider)
    except (KeyError, ValueError, LookupError):
        return None
    return None if cost is None else float(cost)


# --- the mapping ---------------------------------------------------------------------------------


def infer_kind(name: str, attrs: Mapping[str, Any], found: Mapping[str, Any] | None = None) -> SpanKind:
    if found is None:
        found = collect_fields(attrs)
    value = attrs.get("openinference.span.kind")
    if value:
        return _OPENINFERENCE_KIND.get(str(value).upper(), "other")
    value = attrs.get("traceloop.span.kind")
    if value and value in _TRACELOOP_KIND:
        return _TRACELOOP_KIND[value]
    value = attrs.get("gen_ai.operation.name")
    if value:
        kind = _GENAI_OPERATION_KIND.get(value)
        if kind:
            return kind
    value = attrs.get("llm.request.type")
    if value and value in _LLM_REQUEST_TYPE_KIND:
        return _LLM_REQUEST_TYPE_KIND[value]
    if "tool_name" in found:
        return "tool"
    if "model" in found or "input_tokens" in found:
        return "llm"
    if "agent_name" in found or "agent_id" in found:
        return "agent"
    return "other"


def _own_agent(kind: SpanKind, name: str, attrs: Mapping[str, Any],
               found: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(agent_id, agent_name) from the span's own attributes."""
    agent_name = _str(found.get("agent_name"))
    agent_id = _str(found.get("agent_id"))
    if kind == "agent":
        if agent_name is None:
            traceloop_agent = attrs.get("traceloop.span.kind") == "agent"
            entity = attrs.get("traceloop.entity.name") if traceloop_agent else None
            agent_name = _str(entity) or _str(attrs.get("graph.node.id")) or name
    elif agent_name is None and agent_id is None and kind in ("chain", "workflow"):
        # A LangGraph node span names the node that acts as the agent for its children.
        node = _str(attrs.get("graph.node.id"))
        if node is not None and node not in ("__start__", "__end__"):
            return node, node
    if agent_id is None:
        agent_id = agent_name
    elif agent_name is None:
        agent_name = agent_id
    return agent_id, agent_name


def status_from(code: int, message: str | None, events: list[dict[str, Any]]) -> tuple[Status, str | None]:
    """OTLP status (0 unset, 1 ok, 2 error), with recorded exception events counting as errors."""
    if code == 2:
        return "error", message or _exception_message(events)
    if code == 1:
        return "ok", message
    if events:
        exception = _exception_message(events)
        if exception is not None:
            return "error", exception
    return "unset", message


def _exception_message(events: list[dict[str, Any]]) -> str | None:
    for event in events:
        if event.get("name") == "exception":
            attrs = event.get("attributes") or {}
            kind = attrs.get("exception.type")
            text = attrs.get("exception.message")
            joined = ": ".join(str(p) for p in (kind, text) if p)
            return joined or "exception"
    return None


def build_span(
    *,
    trace_id: str,
    span_id: str,
    parent_span_id: str | None,
    name: str,
    start_ns: int,
    end_ns: int | None,
    status_code: int,
    status_message: str | None,
    attributes: dict[str, Any],
    events: list[dict[str, Any]],
    resource: dict[str, Any],
    framework: str = "unknown",
) -> Span:
    """One normalised span from decoded OTLP fields (attributes already converted to Python values)."""
    attrs = attributes
    found = collect_fields(attrs)
    get = found.get
    kind = infer_kind(name, attrs, found)
    agent_id, agent_name = _own_agent(kind, name, attrs, found)
    status, status_text = status_from(status_code, status_message, events)

    model = _str(get("model"))
    provider = _str(get("provider"))
    input_tokens = _int(get("input_tokens"))
    output_tokens = _int(get("output_tokens"))
    if input_tokens is None and output_tokens is not None:
        total = _int(get("total_tokens"))
        if total is not None and total >= output_tokens:
            input_tokens = total - output_tokens

    tool_name = _str(get("tool_name"))
    if tool_name is None and kind == "tool":
        tool_name = _str(attrs.get("traceloop.entity.name")) or name

    input_text = _text(get("input"))
    output_text = _text(get("output"))
    if kind == "llm":
        if input_text is None:
            input_text = _indexed_content(attrs, "gen_ai.prompt.") or _indexed_content(
                attrs, "llm.input_messages.")
        if output_text is None:
            output_text = _indexed_content(attrs, "gen_ai.completion.") or _indexed_content(
                attrs, "llm.output_messages.")

    cost: float | None = None
    explicit_cost = get("cost")
    if explicit_cost is not None:
        try:
            cost = float(explicit_cost)
        except (TypeError, ValueError):
            cost = None
    elif model is not None and (input_tokens is not None or output_tokens is not None):
        cost = span_cost(model, input_tokens or 0, output_tokens or 0, provider)

    if framework == "unknown":
        framework = _framework_from_attributes(name, attrs)

    role = _str(get("role"))
    state_value = get("state")
    tool_call_id = _str(get("tool_call_id"))

    return Span(
        trace_id=trace_id,
        span_id=span_id,
        name=name,
        start_ns=start_ns,
        end_ns=end_ns,
        parent_span_id=parent_span_id,
        kind=kind,
        status=status,
        status_message=status_text,
        agent_id=agent_id,
        agent_name=agent_name,
        role=role,
        model=model,
        provider=provider,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost,
        tool_name=tool_name,
        tool_call_id=tool_call_id,
        input_text=input_text,
        output_text=output_text,
        state=parse_state(state_value) if state_value is not None else None,
        framework=framework,
        attributes=attrs,
        events=events,
        resource=resource,
    )


def assign_agents(spans: list[Span]) -> list[Span]:
    """Give every span without its own agent the agent of its nearest ancestor agent span.

    Spans are updated in place (and returned for convenience). Parents outside ``spans`` end the
    walk, so call this again on the whole trace once late spans have arrived.
    """
    by_id = {span.span_id: span for span in spans}
    resolved: dict[str, tuple[str | None, str | None, str | None]] = {}

    def owner(span: Span) -> tuple[str | None, str | None, str | None]:
        chain: list[Span] = []
        found: tuple[str | None, str | None, str | None] = (None, None, None)
        parent = span.parent_span_id
        current = by_id.get(parent) if parent else None
        while current is not None:
            if current.agent_id is not None:
                found = (current.agent_id, current.agent_name, current.role)
                break
            cached = resolved.get(current.span_id)
            if cached is not None:
                found = cached
                break
            chain.append(current)
            if len(chain) > len(by_id):  # a cycle in malformed parent links
                break
            parent = current.parent_span_id
            current = by_id.get(parent) if parent else None
        for visited in chain:
            resolved[visited.span_id] = found
        return found

    for span in spans:
        if span.agent_id is None:
            agent_id, agent_name, role = owner(span)
            if agent_id is not None:
                span.agent_id = agent_id
                span.agent_name = agent_name
                if span.role is None and role is not None:
                    span.role = role
    return spans


# --- large values --------------------------------------------------------------------------------


def _size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return 8
    return len(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8"))


def split_large_attributes(span: Span, limit_bytes: int) -> dict[str, Any]:
    """Values of ``span`` larger than ``limit_bytes`` (UTF-8 / JSON size), keyed by where they live.

    Keys are ``"attributes.<key>"`` for attributes and ``"input_text"``, ``"output_text"``,
    ``"state"`` for the span's own fields. The span is not changed: the caller stores the values
    elsewhere and swaps in references with :func:`replace_with_refs`.
    """
    large: dict[str, Any] = {}
    for key, value in span.attributes.items():
        if _size(value) > limit_bytes:
            large["attributes." + key] = value
    for field_name in ("input_text", "output_text", "state"):
        value = getattr(span, field_name)
        if value is not None and _size(value) > limit_bytes:
            large[field_name] = value
    return large


def replace_with_refs(span: Span, refs: Mapping[str, str], sizes: Mapping[str, int] | None = None) -> Span:
    """Swap offloaded values for ``{"$ref": <location>, "size": <bytes>}`` markers, in place.

    ``refs`` maps the keys returned by :func:`split_large_attributes` to the storage location.
    Text fields keep a marker string so they stay strings.
    """
    for path, ref in refs.items():
        size = (sizes or {}).get(path)
        marker = {"$ref": ref, "size": size}
        if path.startswith("attributes."):
            key = path[len("attributes."):]
            if key in span.attributes:
                span.attributes[key] = marker
        elif path in ("input_text", "output_text"):
            setattr(span, path, f"[offloaded: {ref}]")
        elif path == "state":
            span.state = marker
        else:
            raise KeyError(f"unknown span value path {path!r}")
    return span
