"""Small, fast text helpers shared by the verification, coordination and grounding detectors.

Everything here is linear in the text it is given and caps the text it looks at, so a detector that
calls these once per step stays linear in the run. Lower-casing and tokenising are cached by string
(Python caches a string's hash), so several detectors reading the same step pay once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from mao.domain.detectors import _text
from mao.domain.models import Detection, Evidence, Step, ToolCall

if TYPE_CHECKING:
    from mao.domain.detectors.base import DetectorSpec

MAX_CHARS = 4000  # text looked at per step; enough for any message a person reads
QUOTE_CHARS = 300

_WORD = re.compile(r"[a-z0-9][a-z0-9_'.-]*[a-z0-9]|[a-z0-9]")
# Splits after [.!?] + whitespace, and at line breaks. Written as "one whitespace character, then either
# (it follows [.!?]) more whitespace or (it is a newline) more newlines", which splits exactly like
# r"(?<=[.!?])\s+|\n+" but starts with a character class the regex engine scans for in C.
_SENTENCE = re.compile(r"\s(?:(?<=[.!?]\s)\s*|(?<=\n)\n*)")

_STOP_TEXT = """
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing done down during each either else ever few for
    from further get got had has have having he her here hers him his how i if in into is it its itself
    just let me more most my no nor not now of off on once only or other our ours out over own same she
    should so some such than that the their theirs them then there these they this those through to too
    under until up upon us very was we were what when where which while who whom why will with would yes
    you your yours ok okay please thanks thank sure well like one two use using used make made need
    needs i'll i'm i've we'll we're it's that's let's don't can't won't didn't isn't doesn't"""
STOPWORDS: frozenset[str] = frozenset(_STOP_TEXT.split())


_CACHE = 65536  # distinct texts remembered: a 10,000-step run's texts stay cached across detectors


_SAME_CAP = _text.MAX_CHARS == MAX_CHARS  # _text's lower-cased texts are the ones read here


@lru_cache(maxsize=_CACHE)
def _lower(text: str) -> str:
    return text[:MAX_CHARS].lower()


# The lower-cased, length-capped form of ``text`` that every matcher here works on. With the same cap it
# is _text.lower itself, so each text is lower-cased and remembered once for both helper modules.
lower = _text.lower if _SAME_CAP else _lower


# ASCII bytes that end a _WORD token: everything but [a-z0-9_'.-] (upper case never reaches it).
_NON_TOKEN_ASCII = bytes(b for b in range(128) if chr(b) not in "abcdefghijklmnopqrstuvwxyz0123456789_'.-")
_NON_TOKEN_BYTES = bytes.maketrans(_NON_TOKEN_ASCII, b" " * len(_NON_TOKEN_ASCII))


@lru_cache(maxsize=_CACHE)
def words(text: str) -> tuple[str, ...]:
    """Word tokens of ``text`` (lower-case; a token starts and ends with a letter or digit, so trailing
    dots and quotes are never part of it)."""
    return tuple(_tokens(text))


def _tokens(text: str) -> list[str]:
    """``words`` uncached, as a list (for callers that keep only a summary of the tokens)."""
    low = lower(text)
    if low.isascii():
        # _WORD's tokens without a regex scan: each run of [a-z0-9_'.-] holds one token, the run with its
        # leading and trailing [_'.-] stripped (runs of those alone hold none).
        runs = low.encode().translate(_NON_TOKEN_BYTES).decode().split()
        return [token for token in [run.strip("_'.-") for run in runs] if token]
    return _WORD.findall(low)


# Every ASCII byte that cannot be part of a ``\w`` run, mapped to a space.
_NON_WORD_ASCII = bytes(b for b in range(128) if not (chr(b).isalnum() or chr(b) == "_"))
_NON_WORD_BYTES = bytes.maketrans(_NON_WORD_ASCII, b" " * len(_NON_WORD_ASCII))
_WORD_RUN = re.compile(r"\w+")
# ASCII characters that are neither word characters, whitespace nor punctuation (they stay inside a word of
# _text.word_set but end a \w run).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")


def word_runs(text: str) -> frozenset[str]:
    """Distinct ``\\w+`` runs of ``lower(text)``: exactly the words a ``\\b``-delimited pattern can match there.

    This makes an exact pre-test for such a pattern run on ``lower(text)``: when every alternative of it
    needs one of a few whole words, it cannot match a text none of whose runs is one of them.
    """
    low = lower(text)
    if _SAME_CAP and low.isascii() and "'" not in low and (low.isprintable() or _CONTROL.search(low) is None):
        # Without apostrophes and control characters, the shared (cached) word set, punctuation split off,
        # is made of exactly these runs: nothing to split or remember a second time.
        return _text.word_set(text)
    return _split_word_runs(text)


@lru_cache(maxsize=_CACHE)
def _split_word_runs(text: str) -> frozenset[str]:
    low = lower(text)
    if not low.isascii():
        return frozenset(_WORD_RUN.findall(low))
    return frozenset(low.encode().translate(_NON_WORD_BYTES).decode().split())


def any_word(text: str, cues: frozenset[str]) -> bool:
    """Whether one of ``cues`` is a whole ``\\w+`` run of ``lower(text)`` (see ``word_runs``)."""
    return not cues.isdisjoint(word_runs(text))


def substring_pattern(needles: Iterable[str]) -> re.Pattern[str]:
    """A pattern whose ``search`` tells exactly whether any of ``needles`` occurs in a string.

    The needles are merged into a trie ("a(?:dd |gain)|..."), so one C-level scan replaces a Python loop
    of ``in`` tests and each position is tried against a handful of branches, not every needle.
    """
    trie: dict[str, dict] = {}
    for needle in needles:
        if not needle:
            raise ValueError("empty needle")
        node = trie
        for ch in needle:
            node = node.setdefault(ch, {})
        node[""] = {}

    def branch(node: dict[str, dict]) -> str:
        if "" in node:  # a needle ends here: longer ones through this node add nothing to "occurs"
            return ""
        alts = [re.escape(ch) + branch(child) for ch, child in sorted(node.items())]
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return re.compile(branch(trie))


@lru_cache(maxsize=_CACHE)
def stem(word: str) -> str:
    """A crude suffix stripper so 'tests', 'tested' and 'testing' meet; enough for overlap scores."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


@lru_cache(maxsize=_CACHE)
def content_terms(text: str) -> frozenset[str]:
    """Stemmed content words: no stopwords, no one- or two-letter tokens."""
    # The tokens are not cached on their own: most texts need only their terms.
    return frozenset(map(stem, {w for w in _tokens(text) if len(w) > 2 and w not in STOPWORDS}))


def coverage(needles: Iterable[str], haystack: frozenset[str]) -> float:
    """Share of ``needles`` present in ``haystack`` (1.0 when there are no needles)."""
    items = set(needles)
    if not items:
        return 1.0
    return len(items & haystack) / len(items)


def jaccard(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> float:
    if not a and not b:
        return 1.0
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def sentences(text: str) -> list[str]:
    return [s for s in map(str.strip, _SENTENCE.split(text[:MAX_CHARS])) if s]


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence (or line) of ``text`` that contains the span ``start:end``."""
    left = max(
        text.rfind(". ", 0, start),
        text.rfind("\n", 0, start),
        text.rfind("! ", 0, start),
        text.rfind("? ", 0, start),
    )
    right_candidates = [
        i
        for i in (text.find(". ", end), text.find("\n", end), text.find("! ", end), text.find("? ", end))
        if i != -1
    ]
    right = min(right_candidates) + 1 if right_candidates else len(text)
    return text[left + 1 if left >= 0 else 0 : right].strip()


def quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text`` collapsed to one line and cut to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."


def quote_match(text: str, start: int, end: int, limit: int = QUOTE_CHARS) -> str:
    """A quote centred on the match ``start:end`` of ``text``."""
    sentence = sentence_around(text, start, end)
    if len(sentence) <= limit:
        return quote(sentence, limit)
    left = max(0, start - limit // 3)
    return quote(("..." if left else "") + text[left : left + limit], limit)


def evidence(step: Step, text: str, note: str | None = None) -> Evidence:
    return Evidence(ref=step.ref, step_index=step.index, quote=quote(text), note=note)


def tool_text(call: ToolCall) -> str:
    """A tool call's result and error as one string (results may be structured)."""
    parts = []
    if call.error:
        parts.append(str(call.error))
    if call.result is not None:
        parts.append(call.result if isinstance(call.result, str) else repr(call.result))
    return "\n".join(parts)[:MAX_CHARS]


def arguments_text(call: ToolCall) -> str:
    args = call.arguments
    if args is None:
        return ""
    return (args if isinstance(args, str) else repr(args))[:MAX_CHARS]


_USER_ROLES = frozenset({"user", "human"})
_TOOL_KINDS = frozenset({"tool", "retrieval"})


def is_tool_step(step: Step) -> bool:
    return step.kind in _TOOL_KINDS or step.role == "tool"


@lru_cache(maxsize=4096)
def _user_name(agent: str) -> bool:
    return agent.lower() in _USER_ROLES


def is_user_step(step: Step) -> bool:
    return step.role in _USER_ROLES or _user_name(step.agent)


def is_speaker(step: Step) -> bool:
    """An agent's own message: not a tool step, not the user, not a system prompt (one call per step)."""
    role = step.role
    return (step.kind not in _TOOL_KINDS and role != "tool" and role not in _USER_ROLES and role != "system"
            and not _user_name(step.agent))


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@lru_cache(maxsize=1024)
def name_aliases(agent: str) -> tuple[str, ...]:
    """Ways a message may refer to an agent: 'WebSurfer' -> 'websurfer', 'web surfer', 'web_surfer'."""
    base = agent.strip()
    spaced = _CAMEL.sub(" ", base).replace("_", " ").replace("-", " ").lower()
    spaced = " ".join(spaced.split())
    forms = {base.lower(), spaced, spaced.replace(" ", ""), spaced.replace(" ", "_")}
    return tuple(sorted(f for f in forms if len(f) >= 3))


def mentions_agent(low_text: str, agent: str) -> int:
    """Position of the first mention of ``agent`` in lower-cased text, or -1."""
    best = -1
    for alias in name_aliases(agent):
        start = 0
        while True:
            i = low_text.find(alias, start)
            if i == -1:
                break
            before = low_text[i - 1] if i > 0 else " "
            after_i = i + len(alias)
            after = low_text[after_i] if after_i < len(low_text) else " "
            if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
                if best == -1 or i < best:
                    best = i
                break
            start = i + 1
    return best


_ZERO_COUNT = re.compile(
    r"\b(?:0|no|zero|without)\s+(?:new\s+)?(?:errors?|failures?|failed|failing|warnings?|issues?|problems?|"
    r"exceptions?|vulnerabilit(?:y|ies))\b"
    r"|\b(?:errors?|failures?|failed|warnings?)\s*[:=]\s*0\b"
    r"|\berror[_ ]?(?:handling|handler|message|code|rate|budget|bars?|checking)s?\b"
    r"|\bno\s+(?:\w+\s+){0,2}(?:found|detected|reported)\b"
    r"|\b(?:errors?|failures?|warnings?)['\"]?\s*[:=]\s*(?:\[\]|\{\}|none|null|false|0)"
)
_FAILURE = re.compile(
    r"\b(?:error|errors|exception|traceback|failed|failure|failures|fails|failing|denied|refused|"
    r"timed out|timeout|not found|unauthori[sz]ed|forbidden|invalid|crash(?:ed)?|panic|fatal|"
    r"segfault|assertionerror|mismatch|rejected|broken|vulnerab\w*|regression|does not match|"
    r"doesn't match|incorrect|exit code [1-9]\d*|status(?: code)? [45]\d\d|http [45]\d\d|"
    r"[45]\d\d (?:not found|internal server error|bad request|forbidden|unauthorized))\b"
)
_FAILURE_GATE = (
    "error",
    "exception",
    "traceback",
    "fail",
    "denied",
    "refused",
    "timed out",
    "timeout",
    "not found",
    "unauthori",
    "forbidden",
    "invalid",
    "crash",
    "panic",
    "fatal",
    "segfault",
    "mismatch",
    "rejected",
    "broken",
    "vulnerab",
    "regression",
    "match",
    "incorrect",
    "exit code",
    "status",
    "http",
    " 40",
    " 50",
)


# Every _ZERO_COUNT match contains one of these: a text without them has nothing to blank out.
_ZERO_COUNT_PARTS = ("error", "fail", "warning", "issue", "problem", "exception", "vulnerabilit", "found",
                     "detected", "reported")


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group(0))


@lru_cache(maxsize=16384)  # a tool result is read by several detectors and several claims
def failure_match(text: str) -> re.Match[str] | None:
    """The first real failure signal in ``text``, ignoring 'no errors', '0 failed', 'error handling'."""
    low = lower(text)
    for gate in _FAILURE_GATE:  # a plain loop: cheaper than any() over a generator for 29 needles
        if gate in low:
            break
    else:
        return None
    cleaned = _ZERO_COUNT.sub(_blank, low) if any(p in low for p in _ZERO_COUNT_PARTS) else low
    return _FAILURE.search(cleaned)


def has_failure(text: str) -> bool:
    return failure_match(text) is not None


_SPECIFIC = re.compile(
    r"`([^`\n]{2,60})`|\"([^\"\n]{2,60})\"|'([^'\n]{3,60})'"
    r"|\b([A-Za-z_][\w]*_[\w]+|[a-z]+[A-Z]\w+|[\w-]+\.(?:py|js|ts|json|ya?ml|sql|md|csv|txt|html|go|rs)"
    r"|\d+(?:\.\d+)?%?)\b"
    r"|(?<![\w/])(/[\w.-]+(?:/[\w.-]+)*)"
)

# _SPECIFIC's alternatives, each with a cheap exact test that the text could hold a match of it. A pattern
# made of only the possible ones finds exactly the same matches (an alternative that cannot match anywhere
# never wins at any position) and usually is one short alternative instead of eight.
_QUOTED_ALTS = (
    ("`", r"`([^`\n]{2,60})`"),
    ('"', r"\"([^\"\n]{2,60})\""),
    ("'", r"'([^'\n]{3,60})'"),
)
_CAMEL_CASE = re.compile(r"[A-Z](?<=[a-z][A-Z])")  # a lower-case letter then an upper-case one
_FILE_EXT = re.compile(r"\.(?:py|js|ts|json|ya?ml|sql|md|csv|txt|html|go|rs)")
_DIGIT = re.compile(r"\d")
_IDENT_ALTS = (
    r"[A-Za-z_][\w]*_[\w]+",
    r"[a-z]+[A-Z]\w+",
    r"[\w-]+\.(?:py|js|ts|json|ya?ml|sql|md|csv|txt|html|go|rs)",
    r"\d+(?:\.\d+)?%?",
)
# \b(number)\b alone, written to start with \d (the regex engine then skips to digits in C): a digit not
# preceded by a word character is exactly a digit at a word boundary.
_NUMBER_ONLY = r"(\d(?<!\w\d)\d*(?:\.\d+)?%?)\b"
_PATH_ALT = r"(?<![\w/])(/[\w.-]+(?:/[\w.-]+)*)"


def _specific_pattern(text: str) -> re.Pattern[str] | None:
    """_SPECIFIC reduced to the alternatives that can match in ``text`` (None: none can)."""
    quoted = tuple(needle in text for needle, _ in _QUOTED_ALTS)
    idents = ("_" in text, _CAMEL_CASE.search(text) is not None, _FILE_EXT.search(text) is not None,
              _DIGIT.search(text) is not None)
    return _compiled_specific(quoted, idents, "/" in text)


@cache  # at most 2**8 combinations
def _compiled_specific(quoted: tuple[bool, ...], idents: tuple[bool, ...], path: bool) -> re.Pattern[str] | None:
    alts = [alt for (_, alt), keep in zip(_QUOTED_ALTS, quoted, strict=True) if keep]
    kept = [alt for alt, keep in zip(_IDENT_ALTS, idents, strict=True) if keep]
    if kept == [_IDENT_ALTS[3]]:
        alts.append(_NUMBER_ONLY)
    elif kept:
        alts.append(r"\b(" + "|".join(kept) + r")\b")
    if path:
        alts.append(_PATH_ALT)
    return re.compile("|".join(alts)) if alts else None


def specific_tokens(text: str, limit: int = 12) -> list[str]:
    """Identifiers, file names, quoted strings and numbers: the checkable details of a message."""
    return list(_specific_tokens(text, limit))


@lru_cache(maxsize=_CACHE)
def _specific_tokens(text: str, limit: int) -> tuple[str, ...]:
    """``specific_tokens`` once per distinct text (a tuple, so the cached value cannot be changed)."""
    head = text[:MAX_CHARS]
    pattern = _specific_pattern(head)
    return () if pattern is None else _tokens_matched(pattern, head, limit)


def _tokens_matched(pattern: re.Pattern[str], head: str, limit: int) -> tuple[str, ...]:
    """The first ``limit`` distinct tokens ``pattern`` (``_SPECIFIC`` or a reduction of it) finds in ``head``."""
    found: list[str] = []
    for m in pattern.finditer(head):
        token = next(g for g in m.groups() if g)
        token = token.strip().rstrip(".,;:").lower()
        if token and token not in found and not (token.isdigit() and len(token) == 1):
            found.append(token)
            if len(found) >= limit:
                break
    return tuple(found)


def detection(spec: DetectorSpec, confidence: float, explanation: str, evidence: list[Evidence],
              details: dict[str, Any]) -> Detection:
    """A detection of ``spec``'s type with the default confidence-to-severity mapping."""
    return Detection(type=spec.key, f_code=spec.f_code, confidence=round(confidence, 4),
                     severity=severity_for(confidence), explanation=explanation, evidence=evidence,
                     detector_version=spec.version, details=details)


def severity_for(confidence: float) -> str:
    """Default mapping from confidence to severity; detectors raise it where the impact is higher."""
    if confidence >= 0.85:
        return "high"
    if confidence >= 0.6:
        return "medium"
    return "low"


def negated_before(low_text: str, start: int, window: int = 24) -> bool:
    """Whether a negation ('not', "n't", 'without', 'skip', 'no need to') precedes position ``start``."""
    before = low_text[max(0, start - window) : start]
    return any(n in before for n in _NEGATIONS)


_NEGATIONS = ("not ", "n't ", "never ", "without ", "skip", "no need to", "instead of ")


@lru_cache(maxsize=256)
def _mention_pattern(agents: tuple[str, ...]) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    owner: dict[str, str] = {}
    for agent in agents:
        for alias in name_aliases(agent):
            owner.setdefault(alias, agent)
    if not owner:
        return None, owner
    # Each alias is checked for a word boundary right after its first character ("(?<!\w.)": the character
    # before the alias is no word character), so every alternative starts with a literal and the regex
    # engine skips in C to the aliases' first letters; it matches exactly what
    # r"(?<![\w])(?:alias|...)(?![\w])" matches, alternatives tried in the same order.
    alternation = "|".join(
        re.escape(a[0]) + r"(?<!\w.)" + re.escape(a[1:]) for a in sorted(owner, key=len, reverse=True)
    )
    return re.compile(rf"(?:{alternation})(?![\w])"), owner


def agent_mentions(low_text: str, agents: Iterable[str]) -> dict[str, int]:
    """First position of every agent of ``agents`` mentioned in lower-cased text: one regex pass."""
    pattern, owner = _mention_pattern(tuple(agents))
    found: dict[str, int] = {}
    if pattern is None:
        return found
    for m in pattern.finditer(low_text):
        found.setdefault(owner[m.group(0)], m.start())
    return found
