"""Lexical helpers for attribution: salient tokens, overlap and the few cue families the features use.

Cues are generic English markers of execution errors, failure reports, corrections, acceptance and
ungrounded assumptions; none refers to a particular system, dataset or agent. Long step contents
(web pages, tool dumps) are cut to a prefix so the cost per run stays linear and small.
"""

from __future__ import annotations

import re
from functools import lru_cache

MAX_CHARS = 4000  # prefix of a step's content that the lexical features read

_CODE_FENCE = re.compile(r"```.*?(?:```|$)", re.S)
_TOKEN = re.compile(r"[a-z0-9][a-z0-9'._-]*[a-z0-9]|[a-z0-9]", re.I)
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w.])")

EXEC_OUTPUT = re.compile(r"^\s*(?:exitcode:|exit code:|code output:|stdout:|stderr:)", re.I)
EXEC_ERROR = re.compile(
    r"exitcode:\s*[1-9]|execution failed|traceback \(most recent call last\)|\b\w+error\b:|"
    r"\bexception\b|errno|command not found|no such file|not defined|timed? ?out",
    re.I,
)
FAILURE = re.compile(
    r"\b(?:error|errors|unable|cannot|can't|couldn't|could not|failed|fails|failure|not found|"
    r"no results?|not available|unavailable|inaccessible|not accessible|not able|did not|didn't|"
    r"does not|doesn't|issue|problem|stalled|stuck|loop|not making progress|no progress|"
    r"apologi[sz]e|unfortunately|however)\b",
    re.I,
)
CORRECTION = re.compile(
    r"\b(?:incorrect|wrong|mistake|mistaken|erroneous|inaccurate|not accurate|not correct|"
    r"discrepanc\w*|contradict\w*|inconsistent|mismatch\w*|misinterpret\w*|overlooked|should have)\b",
    re.I,
)
ACCEPTANCE = re.compile(
    r"\b(?:verified|confirmed|confirm|correct|accurate|agree|agreed|validated|approve|approved|"
    r"looks good|is right|consistent)\b",
    re.I,
)
UNGROUNDED = re.compile(
    r"\b(?:assume|assumed|assuming|assumption|hypothetical\w*|mock|simulated?|placeholder|"
    r"for demonstration|illustrative|example data|sample data|dummy|fictional|made[- ]up|"
    r"approximate\w*|estimate[sd]?|likely|probably|presumabl\w*|based on (?:my|general) knowledge)\b",
    re.I,
)
CONCLUSION = re.compile(
    r"\b(?:the answer is|final answer|answer:|in conclusion|therefore|thus|the result is|"
    r"the results? (?:show|indicate)|we (?:have )?(?:found|determined|identified)|is identified as|"
    r"has been (?:found|identified|determined)|results from last response)\b",
    re.I,
)

_STOP_WORDS = """a an the and or but if then else of to in on at by for with from as
    is are was were be been being
    it its this that these those there here we you i he she they them our your their my me us
    do does did done have has had having not no yes can could should would will shall may might must
    so such than too very just also only into onto over under about above below after before again
    further once all any both each few more most other some own same what which who whom whose when
    where why how let lets let's please now up down out off via per"""
_STOP = frozenset(_STOP_WORDS.split())


def prefix(text: str) -> str:
    return text[:MAX_CHARS]


def prose(text: str) -> str:
    """The text without fenced code blocks (claims live in prose; code is judged by its output)."""
    return _CODE_FENCE.sub(" ", prefix(text))


def has_code(text: str) -> bool:
    return "```" in prefix(text)


@lru_cache(maxsize=4096)
def salient_tokens(text: str) -> frozenset[str]:
    """Lower-cased content words and numbers (commas removed) of the text's prose."""
    body = prose(text)
    tokens = {t.lower().strip("'.-_") for t in _TOKEN.findall(body)}
    numbers = {n.replace(",", "") for n in _NUMBER.findall(body)}
    return frozenset(t for t in tokens | numbers if len(t) > 2 or t.isdigit()) - _STOP


def numbers(text: str) -> frozenset[str]:
    return frozenset(n.replace(",", "") for n in _NUMBER.findall(prose(text)))


def containment(part: frozenset[str], whole: frozenset[str]) -> float:
    """Share of ``part`` that also occurs in ``whole`` (0 when ``part`` is empty)."""
    if not part:
        return 0.0
    return len(part & whole) / len(part)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def count(pattern: re.Pattern[str], text: str) -> int:
    return len(pattern.findall(prose(text)))


def first_match(pattern: re.Pattern[str], text: str, width: int = 300) -> str | None:
    """A window of about ``width`` characters around the first match of ``pattern``."""
    body = prefix(text)
    match = pattern.search(body)
    if not match:
        return None
    start = max(0, match.start() - width // 3)
    return clip(body[start : start + width])


def clip(text: str, width: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + "\u2026"
