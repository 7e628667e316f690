"""Prompt-injection check: a score in [0, 1], a verdict, the attack type and the evidence.

Pipeline: :mod:`normalize` undoes disguises; the bundled linear model scores the canonical text
(long texts in overlapping windows, so an instruction buried in a web page or tool output is not
diluted); :mod:`injection_rules` names the attack type and marks the evidence. A strong rule can
raise the score on its own; weak rules only label what the model found.

Content that an agent *reads* (tool output, retrieved documents, web pages) is checked for
instructions addressed to the model: an injection there is reported as indirect injection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from mao.domain.security import injection_rules as rules
from mao.domain.security.batch_features import linear_probabilities
from mao.domain.security.injection_model import final_scores, load
from mao.domain.security.normalize import Normalized, normalize, normalize_many

Context = Literal["user_input", "tool_output", "retrieved", "agent_message", "system"]
CONTENT_CONTEXTS = frozenset({"tool_output", "retrieved"})
CORROBORATE_CONTEXTS = frozenset({"tool_output", "retrieved", "agent_message"})
CONFIDENT_MODEL = 0.98

WINDOW = 800
STEP = 600
MAX_CHARS = 200_000
STRONG_RULE = 0.9


@dataclass(frozen=True, slots=True)
class EvidenceSpan:
    """A matched passage: offsets into the submitted text when it can be located there."""

    attack_type: str
    rule: str
    quote: str
    start: int | None
    end: int | None
    decoded: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class InjectionResult:
    detected: bool
    score: float
    threshold: float
    attack_type: str | None
    attack_types: list[str] = field(default_factory=list)
    evidence: list[EvidenceSpan] = field(default_factory=list)
    obfuscation: list[str] = field(default_factory=list)
    model_score: float = 0.0
    context: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["score"] = round(self.score, 4)
        out["model_score"] = round(self.model_score, 4)
        out["threshold"] = round(self.threshold, 4)
        return out


def windows(text: str, size: int = WINDOW, step: int = STEP) -> list[str]:
    """Overlapping windows cut at whitespace where possible (the text itself when short)."""
    if len(text) <= size + (size - step):
        return [text]
    out: list[str] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            cut = text.rfind(" ", start + step, end)
            end = cut if cut > start else end
        out.append(text[start:end])
        if end >= len(text):
            break
        nxt = text.rfind(" ", start + 1, start + step)
        start = nxt + 1 if nxt > start else start + step
    return out


def encoder_judges(context: str | None) -> bool:
    """Whether the model's encoder stage may re-score a text from this context.

    The encoder learned from prompts that people send (and benign ones); messages agents pass each other
    and tool output are outside what it was trained on (ungated, it flags one in seven ordinary agent
    messages), so there the linear stage, trained on generated agent traffic too, and the rules decide."""
    return context not in CORROBORATE_CONTEXTS


def model_score(text: str, whole: Normalized | None = None, context: str | None = None) -> float:
    """The model's probability that a (normalised-on-the-fly) text is an injection; max over windows.

    ``whole`` is the text's normalised form when the caller already has it (reused for a text that
    fits in one window)."""
    model = load()
    pieces = windows(text[:MAX_CHARS])
    norms = [whole if whole is not None and len(pieces) == 1 and piece == text else normalize(piece)
             for piece in pieces]
    p = [model.probability(norm.full, norm.obfuscation) for norm in norms]
    if encoder_judges(context) and len(norms) == 1:  # a text cut into windows is too long for the encoder
        p = final_scores([norms[0].full], p)
    return max(p, default=0.0)


def _locate(original: str, quote: str) -> tuple[int | None, int | None]:
    at = original.lower().find(quote)
    if at < 0:
        return None, None
    return at, at + len(quote)


def check(text: str, context: str | None = None) -> InjectionResult:
    """Score one text. ``context`` says where it came from (user input, tool output, ...)."""
    text = (text or "")[:MAX_CHARS]
    norm = normalize(text)
    p_model = model_score(text, norm, context) if text.strip() else 0.0
    return _result(text, context, norm, p_model, rules.scan(norm.full))


def scores_many(items: Sequence[tuple[str, str | None]], chunk: int = 4096) -> list[float]:
    """``check(text, context).score`` of each pair, the batch scored together: the same numbers (up to
    float rounding where the encoder stage re-scores a text: a padded batch sums in another order), much
    less time per text (one numpy pass decides which texts need normalising, one scores the model's
    features, the rules run only on texts holding their required words). Call :func:`check` for the
    full result of the few texts whose score matters."""
    out: list[float] = []
    for at in range(0, len(items), chunk):
        out.extend(_score_chunk(items[at:at + chunk]))
    return out


def _score_chunk(items: Sequence[tuple[str, str | None]]) -> list[float]:
    model = load()
    texts = [(text or "")[:MAX_CHARS] for text, _ in items]
    norms = normalize_many(texts)
    scored: list[tuple[str, list[str]]] = []
    owner: list[int] = []
    one_window = WINDOW + (WINDOW - STEP)  # longer texts are scored in windows (see :func:`windows`)
    for i, (text, norm) in enumerate(zip(texts, norms, strict=True)):
        if len(text) <= one_window:
            if text.strip():
                scored.append((norm.full, norm.obfuscation))
                owner.append(i)
            continue
        for piece_norm in normalize_many(windows(text)):
            scored.append((piece_norm.full, piece_norm.obfuscation))
            owner.append(i)
    p_piece = linear_probabilities(model, scored)
    # The encoder judges whole texts only (those scored in one piece), and only from its contexts.
    judged = [k for k, i in enumerate(owner) if encoder_judges(items[i][1]) and len(texts[i]) <= one_window]
    for k, p in zip(judged, final_scores([scored[k][0] for k in judged], [p_piece[k] for k in judged]), strict=True):
        p_piece[k] = p
    p_model = [0.0] * len(texts)
    for i, p in zip(owner, p_piece, strict=True):
        p_model[i] = max(p_model[i], p)
    hits = rules.scan_many([norm.full for norm in norms])
    threshold = model.threshold
    return [_score(context, p, found, threshold) for (_, context), p, found in zip(items, p_model, hits, strict=True)]


def _score(context: str | None, p_model: float, hits: list[rules.RuleHit], threshold: float) -> float:
    """A text's injection score from the model's probability and the rule hits."""
    if not hits:  # the common case, decided without scanning hits
        if context in CORROBORATE_CONTEXTS and p_model < CONFIDENT_MODEL:
            return min(p_model, threshold)
        return p_model
    strong = max((h.confidence for h in hits if h.confidence >= STRONG_RULE), default=0.0)
    p_effective = p_model
    if context in CORROBORATE_CONTEXTS and p_model < CONFIDENT_MODEL and not any(
            h.confidence >= 0.5 for h in hits):
        # Agent messages and tool output are full of ordinary imperatives ("search for X, then report");
        # there the model needs an injection pattern to agree with it before a text is flagged.
        p_effective = min(p_model, threshold)
    return max(p_effective, strong)


def _result(text: str, context: str | None, norm: Normalized, p_model: float,
            hits: list[rules.RuleHit]) -> InjectionResult:
    """The verdict, attack types and evidence for a text, from its model score and rule hits."""
    threshold = load().threshold
    score = _score(context, p_model, hits, threshold)
    detected = score > threshold

    evidence: list[EvidenceSpan] = []
    types: list[str] = []
    if detected:
        for h in hits:
            if h.confidence < 0.5 and len(hits) > 1:
                continue
            start, end = _locate(text, h.quote)
            attack_type = h.attack_type
            if context in CONTENT_CONTEXTS and attack_type in (rules.INSTRUCTION_OVERRIDE, rules.ROLE_HIJACK,
                                                                rules.PROMPT_EXTRACTION, rules.DELIMITER_INJECTION):
                attack_type = rules.INDIRECT_INJECTION
            evidence.append(EvidenceSpan(attack_type, h.rule, h.quote[:300], start, end,
                                         decoded=start is None))
            if attack_type not in types:
                types.append(attack_type)
        if norm.decoded and any(e.decoded for e in evidence) and rules.ENCODED_PAYLOAD not in types:
            types.insert(0, rules.ENCODED_PAYLOAD)
        if not types:
            types.append(rules.INDIRECT_INJECTION if context in CONTENT_CONTEXTS else rules.GENERIC)
    return InjectionResult(
        detected=detected,
        score=score,
        threshold=threshold,
        attack_type=types[0] if types else None,
        attack_types=types,
        evidence=evidence,
        obfuscation=norm.obfuscation,
        model_score=p_model,
        context=context,
    )


__all__ = ["CONTENT_CONTEXTS", "EvidenceSpan", "InjectionResult", "check", "encoder_judges", "model_score",
           "scores_many", "windows"]
