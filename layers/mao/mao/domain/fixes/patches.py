"""Patch plans and applying them to documents, purely.

A plan is a list of JSON operations, so it can be stored, shown, signed and replayed:

Agent configuration documents (MAO's per-agent store, or any JSON configuration a webhook receives):
- ``{"op": "set", "path": "limits.recursion_limit", "value": 25}``
- ``{"op": "append_text", "path": "system_prompt", "value": "..."}`` (adds a paragraph once)

n8n workflows (the public REST API's workflow JSON):
- ``{"op": "node_settings", "nodes": [...] | null, "node_types": [...] | null, "values": {...}}``:
  node-level settings such as ``retryOnFail``, ``maxTries``, ``waitBetweenTries``, ``onError``
- ``{"op": "node_parameter_text", "nodes": ..., "node_types": ..., "parameter": "options.systemMessage",
  "value": "..."}``: appends a paragraph to a text parameter (an AI agent's system message)
- ``{"op": "workflow_setting", "key": "executionTimeout", "value": 300}``

Every ``apply_*`` returns a new document (inputs are never mutated) and is idempotent; ``unmet_*``
lists the operations a document does not satisfy, which is what verification checks.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

PatchOp = dict[str, Any]

CONFIG_OPS = frozenset({"set", "append_text"})
N8N_OPS = frozenset({"node_settings", "node_parameter_text", "workflow_setting"})


class PatchError(ValueError):
    """A plan that cannot be applied to this document (wrong shape, no matching node)."""


def _split(path: str) -> list[str]:
    parts = [p for p in path.split(".") if p]
    if not parts:
        raise PatchError("empty path")
    return parts


def get_path(doc: Mapping[str, Any], path: str) -> Any:
    node: Any = doc
    for part in _split(path):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    parts = _split(path)
    node = doc
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise PatchError(f"{path!r}: {part!r} is not an object")
        node = child
    node[parts[-1]] = copy.deepcopy(value)


def _appended(text: Any, addition: str) -> str:
    current = text if isinstance(text, str) else ""
    if addition in current:
        return current
    return f"{current.rstrip()}\n\n{addition}" if current.strip() else addition


def _has_text(text: Any, addition: str) -> bool:
    return isinstance(text, str) and addition in text


# ---------------------------------------------------------------- agent configuration documents
def apply_config_ops(doc: Mapping[str, Any], ops: Iterable[PatchOp]) -> dict[str, Any]:
    out = copy.deepcopy(dict(doc))
    for op in ops:
        kind = op.get("op")
        if kind == "set":
            _set_path(out, op["path"], op["value"])
        elif kind == "append_text":
            _set_path(out, op["path"], _appended(get_path(out, op["path"]), str(op["value"])))
        else:
            raise PatchError(f"operation {kind!r} does not apply to a configuration document")
    return out


def unmet_config_ops(doc: Mapping[str, Any], ops: Iterable[PatchOp]) -> list[PatchOp]:
    unmet = []
    for op in ops:
        value = get_path(doc, op["path"])
        ok = value == op["value"] if op.get("op") == "set" else _has_text(value, str(op["value"]))
        if not ok:
            unmet.append(op)
    return unmet


# ---------------------------------------------------------------- n8n workflows
def _selected(nodes: list[dict[str, Any]], op: PatchOp) -> list[dict[str, Any]]:
    names = op.get("nodes")
    types = op.get("node_types")
    chosen = []
    for node in nodes:
        if names and node.get("name") not in names:
            continue
        node_type = str(node.get("type", "")).lower()
        if types and not any(t.lower() in node_type for t in types):
            continue
        chosen.append(node)
    return chosen


def _workflow_nodes(workflow: Mapping[str, Any]) -> list[dict[str, Any]]:
    nodes = workflow.get("nodes")
    if not isinstance(nodes, list):
        raise PatchError("the workflow has no node list")
    return nodes


def apply_n8n_ops(workflow: Mapping[str, Any], ops: Iterable[PatchOp]) -> dict[str, Any]:
    out = copy.deepcopy(dict(workflow))
    nodes = _workflow_nodes(out)
    for op in ops:
        kind = op.get("op")
        if kind == "workflow_setting":
            settings = out.setdefault("settings", {})
            if not isinstance(settings, dict):
                raise PatchError("workflow settings are not an object")
            settings[op["key"]] = copy.deepcopy(op["value"])
            continue
        if kind not in ("node_settings", "node_parameter_text"):
            raise PatchError(f"operation {kind!r} does not apply to an n8n workflow")
        chosen = _selected(nodes, op)
        if not chosen:
            raise PatchError(f"no node matches {op.get('nodes') or op.get('node_types') or 'any'}")
        for node in chosen:
            if kind == "node_settings":
                for key, value in op["values"].items():
                    node[key] = copy.deepcopy(value)
            else:
                params = node.setdefault("parameters", {})
                _set_path(params, op["parameter"], _appended(get_path(params, op["parameter"]), str(op["value"])))
    return out


def unmet_n8n_ops(workflow: Mapping[str, Any], ops: Iterable[PatchOp]) -> list[PatchOp]:
    nodes = _workflow_nodes(workflow)
    unmet = []
    for op in ops:
        kind = op.get("op")
        if kind == "workflow_setting":
            ok = (workflow.get("settings") or {}).get(op["key"]) == op["value"]
        else:
            chosen = _selected(nodes, op)
            if kind == "node_settings":
                ok = bool(chosen) and all(n.get(k) == v for n in chosen for k, v in op["values"].items())
            else:
                ok = bool(chosen) and all(
                    _has_text(get_path(n.get("parameters") or {}, op["parameter"]), str(op["value"]))
                    for n in chosen)
        if not ok:
            unmet.append(op)
    return unmet


def plan_kind(ops: Iterable[PatchOp]) -> str:
    """``"n8n"`` when every operation targets an n8n workflow, ``"config"`` for configuration documents."""
    kinds = {op.get("op") for op in ops}
    if kinds and kinds <= N8N_OPS:
        return "n8n"
    if kinds and kinds <= CONFIG_OPS:
        return "config"
    raise PatchError(f"a plan mixes or lacks operation kinds: {sorted(map(str, kinds))}")
