"""Split raw multi-agent log text into speaker turns.

Each multi-agent system logs its messages differently, so each has its own header patterns: a
header is a line (or a few lines) that starts a new message and names its speaker. Text between
two headers is the first header's message. Systems without their own patterns, and logs in which
a system's patterns find nothing, go through generic splitters (AutoGen console headers, dashed
headers, timestamped ``speaker:`` lines, ``Speaker: ...``/``[Speaker] ...`` prefixes), and the one
that finds the most turns wins. The splitter used is reported, so a caller can tell how a log was
read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_F = re.MULTILINE


@dataclass(frozen=True, slots=True)
class Header:
    pattern: re.Pattern[str]
    role: str = "agent"  # role of the turns this header starts (agent, user, tool, system)


@dataclass(slots=True)
class RawTurn:
    speaker: str
    role: str
    content: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SplitResult:
    turns: list[RawTurn]
    splitter: str
    preamble: str = ""


def _h(pattern: str, role: str = "agent") -> Header:
    return Header(re.compile(pattern, _F), role)


_TS = r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?"

SPLITTERS: dict[str, tuple[Header, ...]] = {
    # [2023-09-01 10:00:00 INFO] Chief Executive Officer: **Chief Executive Officer<->... on : Phase, turn 0**
    "chatdev": (
        _h(rf"^\[{_TS} INFO\] (?P<speaker>[A-Z][\w ]{{0,40}}?): (?P<rest>\*\*.*)$"),
    ),
    # blocks "FROM: <name>" ... and "NEW MESSAGES:\n\n<Name>: text"; loguru "- Alice(Engineer): ..."
    "metagpt": (
        _h(r"^FROM:\s*(?P<speaker>[^\n]{1,60}?)\s*$"),
        _h(r"^NEW MESSAGES:\s*\n\s*(?P<speaker>[A-Za-z][\w ]{0,40}?):[ \t]*(?P<rest>.*)$"),
        _h(r"^.*? - (?P<speaker>[A-Z]\w{0,30})\((?P<to>[A-Za-z]\w{0,40})\): (?P<rest>.*)$"),
    ),
    # AutoGen / AG2 console: "assistant (to user_proxy):" then the message
    "autogen": (
        _h(r"^(?P<speaker>[\w.\- ]{1,60}?) \(to (?P<to>[^)\n]{1,60})\):[ \t]*$"),
    ),
    # AG2 YAML dumps: "- content: ...\n  role: ...\n  name: ..." are handled by _split_yaml_messages
    # ---------- TextMessage (WebSurfer) ----------  /  ---------- WebSurfer ----------
    "dashed": (
        _h(r"^-{5,} *(?:\w+ *\((?P<speaker>[^()\n]{1,60})\)|(?P<speaker2>[^()\n-][^\n]{0,60}?))"
           r" *-{5,}[ \t]*$"),
    ),
    # [2024-10-12 10:00:00], Orchestrator (thought):   (Magentic-One)
    "timestamped": (
        _h(rf"^\[?{_TS}\]?,? +(?P<speaker>[A-Za-z][^:\n]{{0,80}}?):[ \t]*(?P<rest>.*)$"),
    ),
    # Response from Supervisor Agent / Message to X Agent / Reply from X Agent / Code Execution Output
    "appworld": (
        _h(r"^(?P<verb>Response from|Reply from) (?P<speaker>[^\n]{1,60}?)[ \t]*$"),
        _h(r"^Message to (?P<to>[^\n]{1,60}?)[ \t]*$"),
        _h(r"^(?P<speaker>Code Execution Output)[ \t]*$", role="tool"),
    ),
    # HyperAgent_<task> - INFO - Planner's Response: ... / Inner-Navigator-Assistant's Response: / A->B:
    "hyperagent": (
        _h(r"^[ \t]*\S+ - INFO - (?:Inner-)?(?P<speaker>[A-Za-z][\w>\-]{0,40}?)(?:-Assistant)?"
           r"(?:'s Response)?:[ \t]*(?P<rest>.*)$"),
    ),
    # loguru: "2025-03-01 10:00:00.123 | INFO | app.agent.toolcall:think:81 - ✨ Manus's thoughts: ..."
    "openmanus": (
        _h(rf"^{_TS} \| \w+ *\| [\w.:]+ - (?:\S+ )?(?P<speaker>[\w\- ]{{1,40}})'s thoughts:"
           r"[ \t]*(?P<rest>.*)$"),
        _h(rf"^{_TS} \| \w+ *\| [\w.:]+ - (?:\S+ )?Tool '(?P<speaker>[^'\n]{{1,60}})' completed its mission!"
           r"(?: Result:)?[ \t]*(?P<rest>.*)$", role="tool"),
    ),
    # Speaker: text  /  [Speaker] text   (generic prefixes; only recurring speakers count)
    "prefix": (
        _h(r"^(?P<speaker>[A-Za-z][\w .'\-]{0,40}?):[ \t]+(?P<rest>\S.*)$"),
        _h(r"^\[(?P<speaker>[A-Za-z][^\]\n]{0,59})\][ \t]*(?P<rest>.*)$"),
    ),
}

# mas_name (lower-cased, without spaces, dashes, underscores) -> splitters to try first
SYSTEM_SPLITTERS: dict[str, tuple[str, ...]] = {
    "chatdev": ("chatdev",),
    "metagpt": ("metagpt",),
    "ag2": ("yaml", "autogen"),
    "autogen": ("autogen", "yaml"),
    "magentic": ("dashed", "timestamped"),
    "magenticone": ("dashed", "timestamped"),
    "appworld": ("appworld",),
    "hyperagent": ("hyperagent",),
    "openmanus": ("openmanus",),
    "manus": ("openmanus",),
}
GENERIC_ORDER = ("autogen", "yaml", "dashed", "timestamped", "chatdev", "hyperagent", "openmanus", "appworld",
                 "metagpt", "prefix")
_USER_NAMES = frozenset({"user", "human", "admin", "customer", "user_proxy", "userproxy"})
_SYSTEM_NAMES = frozenset({"system"})


def system_key(mas_name: str | None) -> str:
    return re.sub(r"[\s_\-]+", "", (mas_name or "").lower())


def role_for(speaker: str, default: str = "agent") -> str:
    low = speaker.strip().lower()
    if low in _USER_NAMES:
        return "user"
    if low in _SYSTEM_NAMES:
        return "system"
    return default


def clean_speaker(raw: str) -> tuple[str, dict[str, Any]]:
    """``Orchestrator (thought)`` -> ``Orchestrator`` and ``Navigator->Planner`` -> ``Navigator``."""
    meta: dict[str, Any] = {}
    speaker = raw.strip()
    match = re.match(r"^(?P<name>[^()]+?)\s*\((?P<note>[^()]*)\)$", speaker)
    if match:
        speaker, note = match.group("name"), match.group("note").strip()
        meta["channel"] = note
        if note.startswith("->"):
            meta["to"] = note[2:].strip()
    if "->" in speaker:
        speaker, to = (part.strip() for part in speaker.split("->", 1))
        meta.setdefault("to", to)
    if speaker != raw.strip():
        meta["speaker_raw"] = raw.strip()
    return speaker, meta


def _split_with(text: str, headers: tuple[Header, ...], recurring_only: bool = False) -> SplitResult:
    found: list[tuple[int, int, re.Match[str], Header]] = []
    for header in headers:
        for match in header.pattern.finditer(text):
            found.append((match.start(), match.end(), match, header))
    found.sort(key=lambda item: (item[0], -item[1]))
    if recurring_only and found:
        counts: dict[str, int] = {}
        for _, _, match, _ in found:
            name = _speaker_of(match)
            counts[name] = counts.get(name, 0) + 1
        recurring = [f for f in found if counts[_speaker_of(f[2])] >= 2]
        found = recurring if len({_speaker_of(f[2]) for f in recurring}) >= 2 else found
    turns: list[RawTurn] = []
    last_end = -1
    last_speaker = "unknown"
    preamble = text[: found[0][0]].strip() if found else text.strip()
    kept = [f for f in found if f[0] >= 0]
    for position, (start, end, match, header) in enumerate(kept):
        if start < last_end:
            continue
        next_start = len(text)
        for later in kept[position + 1:]:
            if later[0] >= end:
                next_start = later[0]
                break
        groups = match.groupdict()
        rest = groups.get("rest") or ""
        body = text[end:next_start]
        content = (rest + body).strip() if rest else body.strip()
        speaker_raw = _speaker_of(match)
        meta: dict[str, Any] = {}
        if not speaker_raw:  # "Message to X": sent by whoever spoke last
            speaker_raw = last_speaker
        speaker, meta = clean_speaker(speaker_raw)
        if groups.get("to"):
            meta["to"] = groups["to"].strip()
        role = header.role if header.role != "agent" else role_for(speaker)
        turns.append(RawTurn(speaker=speaker, role=role, content=content, metadata=meta))
        last_end = end
        if role != "tool":
            last_speaker = speaker
    return SplitResult(turns=turns, splitter="", preamble=preamble)


def _speaker_of(match: re.Match[str]) -> str:
    groups = match.groupdict()
    return (groups.get("speaker") or groups.get("speaker2") or "").strip()


def _split_yaml_messages(text: str) -> SplitResult:
    """AG2 dumps: a YAML list (possibly after a ``trajectory:`` key) of content/role/name mappings."""
    import yaml

    body = text
    marker = re.search(r"^\s*trajectory:\s*$", text, _F)
    if marker:
        body = text[marker.end():]
    try:
        loaded = yaml.safe_load(body)
    except yaml.YAMLError:
        return SplitResult([], "yaml")
    if isinstance(loaded, dict):
        loaded = loaded.get("trajectory") or loaded.get("messages") or loaded.get("chat_history")
    if not isinstance(loaded, list):
        return SplitResult([], "yaml")
    turns: list[RawTurn] = []
    for item in loaded:
        if not isinstance(item, dict) or "content" not in item:
            return SplitResult([], "yaml")
        name = str(item.get("name") or item.get("role") or "unknown")
        role = str(item.get("role") or "")
        speaker, meta = clean_speaker(name)
        mapped = "tool" if role in ("tool", "function") else role_for(speaker, "user" if role == "user" and
                                                                      not item.get("name") else "agent")
        content = item.get("content")
        turns.append(RawTurn(speaker=speaker, role=mapped,
                             content=content if isinstance(content, str) else str(content or ""),
                             metadata={**meta, "raw_role": role} if role else meta))
    return SplitResult(turns, "yaml")


def split_named(text: str, name: str) -> SplitResult:
    if name == "yaml":
        return _split_yaml_messages(text)
    result = _split_with(text, SPLITTERS[name], recurring_only=(name == "prefix"))
    result.splitter = name
    return result


def split_log(text: str, mas_name: str | None = None) -> SplitResult:
    """Turns of a raw log: the system's own splitters first, else the generic one finding most turns."""
    for name in SYSTEM_SPLITTERS.get(system_key(mas_name), ()):
        result = split_named(text, name)
        if len(result.turns) >= 2:
            return result
    best = SplitResult([], "none", text.strip())
    for name in GENERIC_ORDER:
        result = split_named(text, name)
        if len(result.turns) > len(best.turns):
            best = result
    return best
