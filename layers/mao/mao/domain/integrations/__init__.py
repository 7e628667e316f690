"""Orchestration-platform integrations: payload normalisers (n8n, Dify, LangGraph, OpenClaw) into the
shared span model, webhook signature checks, SSRF checks for instance URLs and SSE framing.
Pure code: no I/O beyond the injectable DNS resolver of :mod:`.ssrf`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mao.domain.integrations import dify, langgraph, n8n, openclaw
from mao.domain.integrations.common import NormalisedRun, PayloadError


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    entity_kind: str  # the registered entity whose secret signs webhooks
    entity_field: str  # the payload field naming it
    container_kind: str | None  # the connection an entity may belong to (instance, deployment)
    entity_id: Callable[[dict[str, Any]], str]
    normalise: Callable[[Any], NormalisedRun]


PROVIDERS: dict[str, Provider] = {
    "n8n": Provider("n8n", "workflows", "workflowId", None, n8n.entity_id, n8n.normalise),
    "dify": Provider("dify", "apps", "app_id", "instances", dify.entity_id, dify.normalise),
    "langgraph": Provider("langgraph", "assistants", "assistant_id", "deployments", langgraph.entity_id,
                          langgraph.normalise),
    "openclaw": Provider("openclaw", "agents", "agent_name", "instances", openclaw.entity_id, openclaw.normalise),
}

__all__ = ["PROVIDERS", "NormalisedRun", "PayloadError", "Provider"]
