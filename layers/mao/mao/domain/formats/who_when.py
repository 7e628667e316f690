"""Who&When records (failed multi-agent runs labelled with the responsible agent and step) -> ``Run``.

A record carries ``question``, ``ground_truth``, ``history`` (messages with ``role``, ``content`` and,
for group chats, ``name``) and the labels ``mistake_agent`` / ``mistake_step`` (a string index into
``history``). The speaker of a message is ``name`` when present, else ``role``. Orchestrated systems
qualify a speaker's role in parentheses (``"Orchestrator (thought)"``, ``"Orchestrator (-> Coder)"``):
the agent is the part before the qualifier, the qualifier is kept in the step metadata.

Labels never enter the ``Run``: read them with :func:`labels`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mao.domain.models import Run, Step

_QUALIFIED = re.compile(r"^\s*(?P<agent>[^()]+?)\s*\((?P<qualifier>[^()]*)\)\s*$")
_FINAL_ANSWER = re.compile(r"FINAL ANSWER:\s*(?P<answer>[^\n]+)")
_HUMAN_ROLES = frozenset({"human", "user_proxy"})


@dataclass(frozen=True, slots=True)
class Labels:
    agent: str
    step: int
    reason: str | None = None


def split_speaker(speaker: str) -> tuple[str, str | None]:
    """``"Orchestrator (-> WebSurfer)"`` -> ``("Orchestrator", "-> WebSurfer")``; plain names unchanged."""
    match = _QUALIFIED.match(speaker)
    if not match:
        return speaker.strip(), None
    return match.group("agent"), match.group("qualifier").strip()


def _speaker(message: Mapping[str, Any]) -> str:
    name = message.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    return str(message.get("role") or "unknown").strip()


def _final_answer(history: list[Mapping[str, Any]]) -> str | None:
    for message in reversed(history):
        match = _FINAL_ANSWER.search(str(message.get("content") or ""))
        if match:
            return match.group("answer").strip()
    return None


def to_run(record: Mapping[str, Any]) -> Run:
    """Normalise one Who&When record into a conversation ``Run`` (all runs in the set failed)."""
    history: list[Mapping[str, Any]] = list(record.get("history") or [])
    steps: list[Step] = []
    for index, message in enumerate(history):
        speaker = _speaker(message)
        agent, qualifier = split_speaker(speaker)
        raw_role = str(message.get("role") or "")
        role = "user" if raw_role.lower() in _HUMAN_ROLES else "assistant"
        metadata: dict[str, Any] = {"speaker": speaker}
        if qualifier:
            metadata["qualifier"] = qualifier
        steps.append(
            Step(
                index=index,
                agent=agent,
                content=str(message.get("content") or ""),
                ref=f"turn:{index}",
                role=role,
                kind="agent",
                metadata=metadata,
            )
        )
    metadata: dict[str, Any] = {"source": "who-and-when"}
    if record.get("subset"):
        metadata["subset"] = record["subset"]
    return Run(
        run_id=str(record.get("id") or record.get("question_ID") or "who-and-when"),
        kind="conversation",
        steps=steps,
        framework="autogen",
        task=record.get("question"),
        ground_truth=None if record.get("ground_truth") is None else str(record["ground_truth"]),
        final_output=_final_answer(history),
        status="error",
        metadata=metadata,
    )


def labels(record: Mapping[str, Any]) -> Labels | None:
    """The annotated responsible agent and decisive step, or ``None`` when the record has none."""
    agent = record.get("mistake_agent")
    step = record.get("mistake_step")
    if agent in (None, "") or step in (None, ""):
        return None
    try:
        step_index = int(str(step).strip())
    except ValueError:
        return None
    return Labels(agent=str(agent), step=step_index, reason=record.get("mistake_reason"))
