"""Conversation formats (``POST /conversations/ingest``) -> turns, metadata and labels.

Formats: ``mast-data`` (a MAST/MAD record with a raw log), ``openai`` (chat messages),
``claude`` (Anthropic Messages) and ``generic`` (a list of speaker/content items, plain text with
speaker prefixes, or a record carrying a Who&When-style ``history``). An unknown format, or data
that does not have the named format's shape, raises :class:`ConversationFormatError` naming the
problem; nothing silently falls back to another format.

Turn ``n`` is the ``n``-th message (0-based) in the source order, so a step index given by a
labelled dataset points at the same message here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from mao.domain.formats.log_split import clean_speaker, role_for, split_log, system_key
from mao.domain.models import Run, Step, ToolCall, Turn
from mao.domain.taxonomy import BY_MAST_ID

FORMATS: tuple[str, ...] = ("mast-data", "openai", "claude", "generic")
_HUMAN_SPEAKER = re.compile(r"user|human|customer|client|admin|person|operator", re.IGNORECASE)


def _humanish(speaker: str) -> bool:
    """A speaker that stands for the person asking (``user``, ``user_proxy``, ``Human``...)."""
    return bool(_HUMAN_SPEAKER.search(speaker))


_ROLE_MAP = {"user": "user", "human": "user", "assistant": "assistant", "ai": "assistant",
             "model": "assistant", "system": "system", "developer": "system", "tool": "tool",
             "function": "tool", "ipython": "tool"}
# Frameworks (of the shared model's list) that the MAST systems and chat formats are built on.
_SYSTEM_FRAMEWORK = {"ag2": "autogen", "autogen": "autogen", "magentic": "autogen", "magenticone": "autogen"}


class ConversationFormatError(ValueError):
    """The data is not in the named format (the message says what is wrong and where)."""


@dataclass(slots=True)
class ParsedConversation:
    format: str
    turns: list[Turn]
    metadata: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)

    @property
    def speakers(self) -> list[str]:
        seen: dict[str, None] = {}
        for turn in self.turns:
            seen.setdefault(turn.speaker, None)
        return list(seen)


def parse_conversation(format: str, data: Any) -> ParsedConversation:
    parser = _PARSERS.get((format or "").strip().lower())
    if parser is None:
        raise ConversationFormatError(f"unknown format {format!r}; supported: {', '.join(FORMATS)}")
    parsed = parser(data)
    if not parsed.turns:
        raise ConversationFormatError(f"{format}: no turns found in the data")
    return parsed


# --- helpers -------------------------------------------------------------------------------------


def _role(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not raw:
        raise ConversationFormatError(f"{where}: 'role' must be a non-empty string")
    return _ROLE_MAP.get(raw.lower(), "agent")


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _parts_text(content: Any, where: str) -> str:
    """Text of a message content: a string or a list of parts (``{"type": "text", "text": ...}``)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts: list[str] = []
        for i, part in enumerate(content):
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict):
                text = part.get("text")
                if text is None and isinstance(part.get("content"), str):
                    text = part["content"]
                if isinstance(text, str):
                    texts.append(text)
                elif part.get("type") in ("image_url", "image", "input_image", "input_audio", "file"):
                    texts.append(f"[{part.get('type')}]")
            else:
                raise ConversationFormatError(f"{where}: content part {i} must be a string or an object")
        return "\n".join(texts)
    raise ConversationFormatError(f"{where}: 'content' must be a string or a list of parts")


def _messages(data: Any, fmt: str) -> list[Any]:
    if isinstance(data, dict):
        messages = data.get("messages")
        if messages is None:
            raise ConversationFormatError(f"{fmt}: expected an object with 'messages' or a list of messages")
    else:
        messages = data
    if not isinstance(messages, list):
        raise ConversationFormatError(f"{fmt}: 'messages' must be a list")
    return messages


# --- openai --------------------------------------------------------------------------------------


def _parse_openai(data: Any) -> ParsedConversation:
    messages = _messages(data, "openai")
    turns: list[Turn] = []
    calls_by_id: dict[str, ToolCall] = {}
    for i, msg in enumerate(messages):
        where = f"openai: messages[{i}]"
        if not isinstance(msg, dict):
            raise ConversationFormatError(f"{where} must be an object")
        role = _role(msg.get("role"), where)
        content = _parts_text(msg.get("content"), where)
        tool_calls: list[ToolCall] = []
        raw_calls = msg.get("tool_calls") or []
        if not isinstance(raw_calls, list):
            raise ConversationFormatError(f"{where}: 'tool_calls' must be a list")
        for j, call in enumerate(raw_calls):
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                raise ConversationFormatError(f"{where}: tool_calls[{j}] needs function.name")
            tool_call = ToolCall(name=function["name"], arguments=_maybe_json(function.get("arguments")),
                                 call_id=call.get("id"))
            tool_calls.append(tool_call)
            if tool_call.call_id:
                calls_by_id[tool_call.call_id] = tool_call
        legacy = msg.get("function_call")
        if isinstance(legacy, dict) and isinstance(legacy.get("name"), str):
            tool_calls.append(ToolCall(name=legacy["name"], arguments=_maybe_json(legacy.get("arguments"))))
        metadata: dict[str, Any] = {"raw_role": msg["role"]}
        call_id = msg.get("tool_call_id")
        if call_id:
            metadata["tool_call_id"] = call_id
            if call_id in calls_by_id:
                calls_by_id[call_id].result = content
        name = msg.get("name")
        speaker = name if isinstance(name, str) and name else msg["role"]
        turns.append(Turn(index=i, speaker=speaker, role=role, content=content, tool_calls=tool_calls,
                          metadata=metadata))
    meta = {k: v for k, v in data.items() if k != "messages"} if isinstance(data, dict) else {}
    meta.setdefault("framework", "openai")
    return ParsedConversation("openai", turns, meta)


# --- claude --------------------------------------------------------------------------------------


def _parse_claude(data: Any) -> ParsedConversation:
    messages = _messages(data, "claude")
    turns: list[Turn] = []
    system = data.get("system") if isinstance(data, dict) else None
    if system:
        text = _parts_text(system, "claude: system")
        turns.append(Turn(index=0, speaker="system", role="system", content=text))
    calls_by_id: dict[str, ToolCall] = {}
    for i, msg in enumerate(messages):
        where = f"claude: messages[{i}]"
        if not isinstance(msg, dict):
            raise ConversationFormatError(f"{where} must be an object")
        raw_role = msg.get("role")
        if raw_role not in ("user", "assistant"):
            raise ConversationFormatError(f"{where}: 'role' must be 'user' or 'assistant', got {raw_role!r}")
        content = msg.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(blocks, list):
            raise ConversationFormatError(f"{where}: 'content' must be a string or a list of blocks")
        texts: list[str] = []
        thinking: list[str] = []
        results: list[str] = []
        tool_calls: list[ToolCall] = []
        for j, block in enumerate(blocks):
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "text":
                texts.append(str(block.get("text", "")))
            elif kind in ("thinking", "redacted_thinking"):
                thinking.append(str(block.get("thinking", "")))
            elif kind in ("tool_use", "server_tool_use"):
                if not isinstance(block.get("name"), str):
                    raise ConversationFormatError(f"{where}: content[{j}] tool_use needs 'name'")
                call = ToolCall(name=block["name"], arguments=block.get("input"), call_id=block.get("id"))
                tool_calls.append(call)
                if call.call_id:
                    calls_by_id[call.call_id] = call
            elif kind == "tool_result":
                result = _parts_text(block.get("content"), f"{where}: content[{j}]")
                results.append(result)
                call = calls_by_id.get(block.get("tool_use_id") or "")
                if call is not None:
                    call.result = result
                    if block.get("is_error"):
                        call.error = result or "tool error"
            elif kind in ("image", "document"):
                texts.append(f"[{kind}]")
            else:
                raise ConversationFormatError(f"{where}: content[{j}] has unknown block type {kind!r}")
        only_results = results and not texts
        role = "tool" if only_results else raw_role
        metadata: dict[str, Any] = {"raw_role": raw_role}
        if thinking:
            metadata["thinking"] = "\n".join(thinking)
        turns.append(Turn(index=len(turns), speaker="tool" if only_results else raw_role, role=role,
                          content="\n".join(results if only_results else texts), tool_calls=tool_calls,
                          metadata=metadata))
    meta = {k: v for k, v in data.items() if k not in ("messages", "system")} if isinstance(data, dict) \
        else {}
    meta.setdefault("framework", "anthropic")
    return ParsedConversation("claude", turns, meta)


# --- generic -------------------------------------------------------------------------------------

_SPEAKER_KEYS = ("agent", "name", "speaker", "sender", "role")
_CONTENT_KEYS = ("content", "text", "message")
_WHO_WHEN_META = ("id", "question", "ground_truth", "subset", "system_prompt")
_WHO_WHEN_LABELS = ("mistake_agent", "mistake_step", "mistake_reason")


def _generic_item(item: Any, i: int) -> Turn:
    where = f"generic: item {i}"
    if isinstance(item, str):
        return Turn(index=i, speaker="unknown", role="agent", content=item)
    if not isinstance(item, dict):
        raise ConversationFormatError(f"{where} must be an object or a string")
    speaker_raw = next((item[k] for k in _SPEAKER_KEYS if isinstance(item.get(k), str) and item[k]), None)
    if speaker_raw is None:
        raise ConversationFormatError(f"{where} needs one of {', '.join(_SPEAKER_KEYS)}")
    content_key = next((k for k in _CONTENT_KEYS if k in item), None)
    if content_key is None:
        raise ConversationFormatError(f"{where} needs one of {', '.join(_CONTENT_KEYS)}")
    content = _parts_text(item[content_key], where)
    speaker, meta = clean_speaker(speaker_raw)
    raw_role = item.get("role")
    if isinstance(raw_role, str) and raw_role.lower() in _ROLE_MAP:
        role = _ROLE_MAP[raw_role.lower()]
        if role == "assistant" and speaker_raw != raw_role:
            role = "agent"
        elif role == "user" and speaker_raw != raw_role and not _humanish(speaker):
            # Multi-agent frameworks (AutoGen and its descendants) relay other agents' messages with
            # the chat role "user": a named speaker there is an agent, not the person asking.
            role = "agent"
    else:
        role = role_for(speaker)
    if isinstance(raw_role, str):
        meta["raw_role"] = raw_role
    extra = {k: v for k, v in item.items() if k not in _SPEAKER_KEYS and k not in _CONTENT_KEYS}
    if extra:
        meta.update(extra)
    return Turn(index=i, speaker=speaker, role=role, content=content, metadata=meta)


def _parse_generic(data: Any) -> ParsedConversation:
    meta: dict[str, Any] = {}
    labels: dict[str, Any] = {}
    if isinstance(data, str):
        result = split_log(data)
        if not result.turns:
            raise ConversationFormatError(
                "generic: plain text needs speaker prefixes ('Agent: ...' or '[Agent] ...')")
        turns = [Turn(index=i, speaker=t.speaker, role=t.role, content=t.content, metadata=t.metadata)
                 for i, t in enumerate(result.turns)]
        meta["splitter"] = result.splitter
        if result.preamble:
            meta["preamble"] = result.preamble
        return ParsedConversation("generic", turns, meta)
    items = data
    if isinstance(data, dict):
        key = next((k for k in ("history", "messages", "turns", "conversation") if k in data), None)
        if key is None:
            raise ConversationFormatError(
                "generic: expected a list of messages, plain text, or an object with 'history', "
                "'messages', 'turns' or 'conversation'")
        items = data[key]
        meta = {k: data[k] for k in _WHO_WHEN_META if k in data}
        if "question" in meta:
            meta["task"] = meta.pop("question")
        labels = {k: data[k] for k in _WHO_WHEN_LABELS if k in data}
        if "mistake_step" in labels:
            try:
                labels["mistake_step"] = int(labels["mistake_step"])
            except (TypeError, ValueError):
                raise ConversationFormatError("generic: 'mistake_step' must be an integer") from None
    if not isinstance(items, list):
        raise ConversationFormatError("generic: the messages must be a list")
    turns = [_generic_item(item, i) for i, item in enumerate(items)]
    return ParsedConversation("generic", turns, meta, labels)


# --- mast-data -----------------------------------------------------------------------------------


def mast_labels(annotation: Any) -> dict[str, Any]:
    """MAST annotation ``{"1.1": 0|1, ...}`` -> the raw labels plus the F-codes marked present."""
    if annotation is None:
        return {}
    if not isinstance(annotation, dict):
        raise ConversationFormatError("mast-data: 'mast_annotation' must be an object like {\"1.1\": 0}")
    codes: list[str] = []
    unknown: list[str] = []
    for mast_id, value in annotation.items():
        mode = BY_MAST_ID.get(str(mast_id).strip())
        if mode is None:
            unknown.append(str(mast_id))
            continue
        try:
            present = float(value) > 0
        except (TypeError, ValueError):
            raise ConversationFormatError(
                f"mast-data: mast_annotation[{mast_id!r}] must be 0 or 1, got {value!r}") from None
        if present:
            codes.append(mode.code)
    codes.sort(key=lambda code: int(code[1:]))
    labels: dict[str, Any] = {"mast_annotation": dict(annotation), "failure_codes": codes}
    if unknown:
        labels["unknown_mast_ids"] = unknown
    return labels


def _parse_mast(data: Any) -> ParsedConversation:
    if not isinstance(data, dict):
        raise ConversationFormatError("mast-data: expected a MAST record (an object with 'trace')")
    trace = data.get("trace")
    trajectory = trace.get("trajectory") if isinstance(trace, dict) else None
    if trajectory is None and isinstance(trace, str):
        trajectory = trace
    if not isinstance(trajectory, str) or not trajectory.strip():
        raise ConversationFormatError("mast-data: 'trace.trajectory' must be the non-empty raw log text")
    mas_name = data.get("mas_name")
    if mas_name is not None and not isinstance(mas_name, str):
        raise ConversationFormatError("mast-data: 'mas_name' must be a string")
    result = split_log(trajectory, mas_name)
    if result.turns:
        turns = [Turn(index=i, speaker=t.speaker, role=t.role, content=t.content, metadata=t.metadata)
                 for i, t in enumerate(result.turns)]
    else:  # nothing recognisable: keep the log as one turn and say so
        turns = [Turn(index=0, speaker=mas_name or "unknown", role="agent", content=trajectory.strip(),
                      metadata={"unsplit": True})]
    meta: dict[str, Any] = {k: data[k] for k in ("trace_id", "mas_name", "llm_name", "benchmark_name")
                            if data.get(k) is not None}
    meta["splitter"] = result.splitter
    if result.preamble:
        meta["preamble"] = result.preamble[:4000]
    framework = _SYSTEM_FRAMEWORK.get(system_key(mas_name))
    if framework:
        meta["framework"] = framework
    return ParsedConversation("mast-data", turns, meta, mast_labels(data.get("mast_annotation")))


_PARSERS = {"mast-data": _parse_mast, "openai": _parse_openai, "claude": _parse_claude,
            "generic": _parse_generic}


# --- run -----------------------------------------------------------------------------------------


def _task(parsed: ParsedConversation) -> str | None:
    if isinstance(parsed.metadata.get("task"), str):
        return parsed.metadata["task"]
    first_user = next((t for t in parsed.turns if t.role == "user" and t.content.strip()), None)
    return first_user.content if first_user else None


def conversation_to_run(conv_id: str, parsed: ParsedConversation) -> Run:
    """The conversation as the detectors and attribution see it (``step.ref`` = ``turn:<n>``)."""
    steps = [
        Step(
            index=turn.index,
            agent=turn.speaker,
            content=turn.content,
            ref=f"turn:{turn.index}",
            role=turn.role,
            input=parsed.turns[turn.index - 1].content if turn.index > 0 else "",
            tool_calls=list(turn.tool_calls),
            output_tokens=turn.tokens,
            kind="tool" if turn.role == "tool" else "agent",
            metadata=dict(turn.metadata),
        )
        for turn in parsed.turns
    ]
    final = next((t.content for t in reversed(parsed.turns)
                  if t.role in ("assistant", "agent") and t.content.strip()), None)
    metadata = {**parsed.metadata, "format": parsed.format, "labels": parsed.labels}
    framework = parsed.metadata.get("framework")
    return Run(
        run_id=conv_id,
        kind="conversation",
        steps=steps,
        framework=framework if isinstance(framework, str) else "unknown",
        task=_task(parsed),
        ground_truth=parsed.metadata.get("ground_truth"),
        final_output=final,
        metadata=metadata,
    )
