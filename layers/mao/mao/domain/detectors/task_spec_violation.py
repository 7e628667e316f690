"""F1 Disobey task specification: the answer ignores a constraint the task stated.

Constraints are read from the task and from each user message with plain patterns: a word,
sentence, character or bullet limit, a required output format (JSON), a required natural or
programming language, and quoted terms the answer must not contain. Each constraint is checked
against the answer it governs: the run's final answer for the task, the agent's reply for a user
message. A constraint the patterns cannot read is not guessed at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import compress
from operator import attrgetter

from mao.domain.detectors import _text
from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Run, Step
from mao.domain.taxonomy import mode

SPEC = DetectorSpec(
    key="task_spec_violation",
    name=mode("F1").name,
    version="1.0.0",
    f_code="F1",
    thresholds={
        "length_tolerance": ThresholdSpec(0.1, 0.0, 1.0, "share a word/character limit may be exceeded by"),
        "language_margin": ThresholdSpec(0.15, 0.0, 1.0, "stopword-share lead of the wrong language needed"),
    },
    fix_types=("prompt_patch", "verification_step"),
)

_NUM_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
              "nine": 9, "ten": 10, "a single": 1, "single": 1, "a": 1}
_NUM = r"(\d{1,5}|one|two|three|four|five|six|seven|eight|nine|ten|a single|single)"
_AT_MOST = (r"(?:in|within|under|at most|no more than|not more than|maximum of|max(?:imum)?|fewer than|"
            r"less than|up to)")
_WORD_LIMIT = re.compile(rf"\b{_AT_MOST}\s+{_NUM}\s+words\b|\b(\d{{1,5}})[- ]word\b")
_CHAR_LIMIT = re.compile(rf"\b{_AT_MOST}\s+(\d{{1,6}})\s+(?:characters|chars)\b")
_SENTENCE_LIMIT = re.compile(rf"\b(?:in|with|using|at most|no more than|exactly)\s+{_NUM}\s+sentences?\b|"
                             rf"\b(one|a single|single)[- ]sentence\b")
_BULLETS = re.compile(rf"\b(?:exactly\s+|at most\s+|no more than\s+)?{_NUM}\s+(?:bullet(?:\s+point)?s?|"
                      rf"bulleted items)\b")
_JSON = re.compile(r"\b(?:respond|reply|answer|return|output|format|give|provide)\w*\b[^.\n]{0,60}?"
                   r"\b(?:as|in)\s+(?:valid\s+|strict\s+|pure\s+)?json\b|"
                   r"\bjson only\b|\bonly (?:valid )?json\b")
_LANGS = ("english", "french", "spanish", "german", "italian", "portuguese", "dutch")
_LANG_REQ = re.compile(r"\b(?:respond|reply|answer|write|written|translate\w*|output|speak|summari[sz]e\w*)"
                       r"\b[^.\n]{0,60}?\b(?:in|into)\s+(" + "|".join(_LANGS) + r")\b")
_CODE_LANGS = {"python": ("python", "py"), "javascript": ("javascript", "js", "node"),
               "typescript": ("typescript", "ts"), "go": ("go", "golang"), "rust": ("rust", "rs"),
               "java": ("java",), "ruby": ("ruby", "rb"), "sql": ("sql",), "bash": ("bash", "sh", "shell")}
_CODE_REQ = re.compile(r"\b(?:in|using|with)\s+(python|javascript|typescript|golang|rust|java|ruby)\b"
                       r"(?!\s*(?:script|bean))")
_FENCE = re.compile(r"```([a-zA-Z+#]*)")
_FORBIDDEN = re.compile(r"\b(?:do not|don't|never|without|must not|avoid)\s+(?:use|mention|include|say|"
                        r"using|mentioning|including|saying|the word|the term)\s*(?:the\s+)?"
                        r"(?:words?|terms?|phrases?)?\s*[\"'\u201c\u2018]([^\"'\u201d\u2019\n]{2,40})[\"'\u201d\u2019]",
                        re.IGNORECASE)
_BULLET_LINE = re.compile(r"^\s*(?:[-*•▪]|\d{1,2}[.)])\s+\S", re.MULTILINE)
_SENTENCE_END = re.compile(r"[.!?]+(?:\s+|$)")

_STOPWORDS_BY_LANGUAGE = {
    "english": "the and is are of to in that it for with was this you not be have on",
    "french": "le la les et est sont des du un une que pour dans avec pas vous nous sur",
    "spanish": "el la los las y es son del un una que para en con por no se lo",
    "german": "der die das und ist sind nicht ein eine mit für auf den dem zu sie wir",
    "italian": "il lo la gli le e è sono di un una che per con non del della",
    "portuguese": "o a os as e é são do da um uma que para com não em por",
    "dutch": "de het een en is zijn niet van dat voor met op te ze we",
}
_STOP = {lang: frozenset(words.split()) for lang, words in _STOPWORDS_BY_LANGUAGE.items()}


_USER_ROLES = frozenset({"user", "human"})  # the roles ``_text.is_user`` reads as the user
_ROLE = attrgetter("role")


@dataclass(frozen=True, slots=True)
class _Violation:
    kind: str
    constraint: str
    found: str
    confidence: float


def _num(raw: str) -> int:
    return int(raw) if raw.isdigit() else _NUM_WORDS.get(raw, 0)


def _strip_fences(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        stripped = stripped.rsplit("```", 1)[0]
    return stripped.strip()


def _language(text: str) -> tuple[str, float, float]:
    """Best-scoring language, its stopword share, and the runner-up's share."""
    toks = [t for t in _text.tokens(text)[:600]]
    if not toks:
        return "", 0.0, 0.0
    scores = sorted(((sum(t in stop for t in toks) / len(toks), lang) for lang, stop in _STOP.items()),
                    reverse=True)
    return scores[0][1], scores[0][0], scores[1][0]


def _violations(spec_text: str, answer: str, t: Mapping[str, float]) -> Iterator[_Violation]:
    low = spec_text[:_text.MAX_CHARS].lower()
    tol = float(t["length_tolerance"])
    m = _WORD_LIMIT.search(low)
    if m:
        limit = _num(m.group(1) or m.group(2) or "")
        words = _text.word_count(answer)
        if limit and words > limit * (1 + tol):
            yield _Violation("word_limit", m.group(0), f"{words} words", min(0.95, 0.7 + words / limit / 10))
    m = _CHAR_LIMIT.search(low)
    if m:
        limit = int(m.group(1))
        if limit and len(answer) > limit * (1 + tol):
            yield _Violation("char_limit", m.group(0), f"{len(answer)} characters", 0.9)
    m = _SENTENCE_LIMIT.search(low)
    if m:
        limit = _num(m.group(1) or m.group(2) or "")
        sentences = len([s for s in _SENTENCE_END.split(_strip_fences(answer)) if s.strip()])
        if limit and sentences > limit + max(1, round(limit * tol)):
            yield _Violation("sentence_limit", m.group(0), f"{sentences} sentences", 0.8)
    m = _BULLETS.search(low)
    if m:
        wanted = _num(m.group(1))
        bullets = len(_BULLET_LINE.findall(answer))
        exact = "exactly" in m.group(0) or not any(w in m.group(0) for w in ("at most", "no more"))
        if wanted and (bullets > wanted or (exact and bullets != wanted)):
            yield _Violation("bullet_count", m.group(0), f"{bullets} bullet points", 0.8)
    m = _JSON.search(low)
    if m:
        body = _strip_fences(answer)
        try:
            json.loads(body)
        except ValueError:
            yield _Violation("format_json", m.group(0), "the answer is not valid JSON", 0.9)
    m = _LANG_REQ.search(low)
    if m and len(_text.tokens(answer)) >= 8:
        wanted = m.group(1)
        got, share, _ = _language(answer)
        wanted_share = sum(tk in _STOP[wanted] for tk in _text.tokens(answer)[:600]) / max(
            1, len(_text.tokens(answer)[:600]))
        if got and got != wanted and share - wanted_share >= float(t["language_margin"]):
            yield _Violation("language", m.group(0), f"the answer is in {got}", 0.8)
    for m in _FORBIDDEN.finditer(spec_text[:_text.MAX_CHARS]):
        term = m.group(1).strip()
        if term and re.search(rf"(?<!\w){re.escape(term.lower())}(?!\w)", answer.lower()):
            yield _Violation("forbidden_term", m.group(0), f"the answer contains '{term}'", 0.85)


def _code_language_violation(spec_text: str, steps: list[Step]) -> tuple[Step, _Violation] | None:
    """The first agent step whose code blocks are all in another language than the one asked for."""
    m = _CODE_REQ.search(spec_text[: _text.MAX_CHARS].lower())
    if not m:
        return None
    wanted = "go" if m.group(1) == "golang" else m.group(1)
    allowed = set(_CODE_LANGS.get(wanted, (wanted,)))
    known = {alias: lang for lang, aliases in _CODE_LANGS.items() if lang not in ("sql", "bash")
             for alias in aliases}
    for step in steps:
        if _text.is_user(step) or "```" not in step.content:
            continue
        tags = {tag.lower() for tag in _FENCE.findall(step.content) if tag}
        other = sorted(tag for tag in tags if tag in known and tag not in allowed)
        if other and not tags & allowed:
            found = f"the code is {known[other[0]]}"
            return step, _Violation("programming_language", m.group(0), found, 0.85)
    return None


def _answer_after(steps: list[Step], start: int) -> Step | None:
    """The last agent step with content before the next user message."""
    answer = None
    for step in steps[start:]:
        if _text.is_user(step):
            break
        if step.content.strip() and step.kind not in ("tool", "retrieval", "embedding"):
            answer = step
    return answer


def _governed_answers(run: Run) -> tuple[str, list[tuple[str, str, Step]]]:
    """The task text, and (who asked, what they asked, the answer it governs) pairs."""
    steps = run.steps
    # user messages with content, found in C (``_text.is_user`` reads the role)
    users = [s for s in compress(steps, map(_USER_ROLES.__contains__, map(_ROLE, steps))) if s.content]
    task = run.task or (users[0].content if users else "")
    pairs: list[tuple[str, str, Step]] = []
    final = next((s for s in reversed(steps) if not _text.is_user(s) and s.content.strip()
                  and s.kind not in ("tool", "retrieval", "embedding")), None)
    if task and final is not None:
        pairs.append(("the task", task, final))
    for user in users:
        reply = _answer_after(steps, user.index + 1)
        if reply is not None and user.content != task:
            pairs.append((f"the user at step {user.index}", user.content, reply))
    return task, pairs


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    task, pairs = _governed_answers(run)
    found = [(source, answer, v) for source, spec_text, answer in pairs
             for v in _violations(spec_text, answer.content, thresholds)]
    code = _code_language_violation(task, run.steps) if task else None
    if code is not None:
        found.append(("the task", code[0], code[1]))
    detections: list[Detection] = []
    seen: set[tuple[str, int]] = set()
    for source, answer, v in found:
        if (v.kind, answer.index) in seen:
            continue
        seen.add((v.kind, answer.index))
        detections.append(Detection(
            type=SPEC.key, f_code=SPEC.f_code, confidence=round(v.confidence, 4),
            severity="medium" if v.kind in ("sentence_limit", "bullet_count") else "high",
            explanation=(f"Task specification ignored: {source} asked for \"{v.constraint}\", but "
                         f"{answer.agent}'s answer at step {answer.index} breaks it ({v.found}). Restate "
                         f"the constraint in the agent's instructions and check the answer against it "
                         f"before returning."),
            evidence=[_text.evidence(answer, note=v.found)],
            detector_version=SPEC.version,
            details={"constraint": v.kind, "requested": v.constraint, "found": v.found},
        ))
    return detections
