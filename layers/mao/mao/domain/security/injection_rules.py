"""Interpretable prompt-injection patterns: they name the attack type and point at the evidence.

Patterns run on the normalised text (lower-cased, disguises undone). Each rule has a type and a
confidence: *strong* rules are specific enough to flag on their own; *weak* rules only describe what
kind of attack a text is once the model already finds it suspicious.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mao.domain.joined_texts import JoinedTexts, NeedIndex, Needs

INSTRUCTION_OVERRIDE = "instruction_override"
ROLE_HIJACK = "role_hijack"
PROMPT_EXTRACTION = "system_prompt_extraction"
JAILBREAK_PERSONA = "jailbreak_persona"
ENCODED_PAYLOAD = "encoded_payload"
INDIRECT_INJECTION = "indirect_injection"
DELIMITER_INJECTION = "delimiter_injection"
OUTPUT_MANIPULATION = "output_manipulation"
SOCIAL_ENGINEERING = "social_engineering"
GENERIC = "suspicious_instruction"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    attack_type: str
    pattern: re.Pattern[str]
    confidence: float  # >= 0.9: flags on its own
    # Lower-case words the pattern cannot match without: batch scans skip a text lacking them (tests
    # hold every group to the pattern).
    requires: Needs = ()


@dataclass(frozen=True, slots=True)
class RuleHit:
    rule: str
    attack_type: str
    confidence: float
    start: int
    end: int
    quote: str


def _r(name: str, attack_type: str, confidence: float, pattern: str, *requires: tuple[str, ...]) -> Rule:
    return Rule(name, attack_type, re.compile(pattern, re.IGNORECASE | re.UNICODE), confidence, requires)


_OVERRIDE_VERBS = ("ignore", "disregard", "forget", "override", "bypass")


_PRIOR = r"(?:all\s+|any\s+|the\s+|your\s+|of\s+the\s+|these\s+|those\s+){0,3}" \
         r"(?:previous|prior|above|earlier|preceding|former|original|initial|system|existing|old)"
_INSTR = r"(?:instructions?|directives?|rules|guidelines|prompts?|commands?|directions|context|constraints|" \
         r"restrictions|programming|guardrails|safety\s+(?:rules|guidelines|protocols|filters))"

RULES: tuple[Rule, ...] = (
    # -- instruction override
    _r("ignore_previous", INSTRUCTION_OVERRIDE, 0.97,
       rf"\b(?:ignore|disregard|forget|override|bypass|skip|drop|abandon|discard|neglect)\s+{_PRIOR}\s+{_INSTR}",
       (*_OVERRIDE_VERBS, "skip", "drop", "abandon", "discard", "neglect"),
       ("previous", "prior", "above", "earlier", "preceding", "former", "original", "initial", "system", "existing",
        "old")),
    _r("ignore_all_instructions", INSTRUCTION_OVERRIDE, 0.93,
       rf"\b(?:ignore|disregard|forget|override|bypass)\s+(?:all|any|every|your)\s+(?:\w+\s+)?{_INSTR}",
       _OVERRIDE_VERBS, ("all", "any", "every", "your")),
    _r("new_instructions", INSTRUCTION_OVERRIDE, 0.7,
       r"\b(?:new|updated|real|true|actual)\s+(?:instructions?|directives?|system\s+prompt)\s*(?::|are\b|follow)",
       ("instruction", "directive", "system"), ("new", "updated", "real", "true", "actual")),
    _r("from_now_on", INSTRUCTION_OVERRIDE, 0.55,
       r"\bfrom\s+now\s+on,?\s+(?:you|your|ignore|respond|answer|only)",
       ("now",), ("from",)),
    _r("ignore_multilingual", INSTRUCTION_OVERRIDE, 0.95,
       r"(?:ignor[ae]z?|olvida|oublie[zr]?|vergiss|ignoriere|ignorar|dimentica|esquece|negeer)\s+"
       r"(?:\w+\s+){0,3}(?:instrucciones|instructions|anweisungen|instruktionen|istruzioni|instruções|"
       r"instrucoes|instructies|regeln|règles|reglas|regole)"
       r"|игнорир\w*\s+(?:\w+\s+){0,2}(?:инструкц|указани|правил)|забудь\s+(?:\w+\s+){0,2}(?:инструкц|правил)"
       r"|(?:忽略|无视)(?:之前|以前|上面|所有|先前|上述)|(?:以前|前|上記)の(?:指示|命令)を無視|이전\s*(?:지시|명령)\S*\s*무시",
       ("ignor", "olvida", "oublie", "vergiss", "dimentica", "esquece", "negeer", "игнорир", "забудь", "忽略", "无视",
        "無視", "무시")),
    # -- system prompt extraction
    _r("reveal_system_prompt", PROMPT_EXTRACTION, 0.93,
       r"\b(?:reveal|show|print|output|display|repeat|recite|leak|dump|expose|disclose|share|tell\s+me|"
       r"give\s+me|write\s+out|spell\s+out|return)\s+(?:me\s+)?(?:\w+\s+){0,3}"
       r"(?:system\s+prompt|initial\s+(?:prompt|instructions)|hidden\s+(?:prompt|instructions)|"
       r"(?:your|the)\s+(?:original|secret|internal|initiali[sz]ation|pre-?prompt|base)\s+"
       r"(?:prompt|instructions|text|directives|configuration)|prompt\s+verbatim)",
       ("system", "initial", "hidden", "original", "secret", "internal", "prompt", "base"),
       ("prompt", "instructions", "text", "directives", "configuration"),
       ("reveal", "show", "print", "output", "display", "repeat", "recite", "leak", "dump", "expose", "disclose",
        "share", "tell", "give", "write", "spell", "return")),
    _r("what_is_your_prompt", PROMPT_EXTRACTION, 0.75,
       r"\b(?:what|which)\s+(?:is|are|were)\s+your\s+(?:system\s+prompt|instructions|initial\s+instructions|"
       r"guidelines|rules|directives|hidden\s+\w+)",
       ("system", "instructions", "guidelines", "rules", "directives", "hidden"), ("your",), ("what", "which")),
    _r("above_text", PROMPT_EXTRACTION, 0.8,
       r"\b(?:repeat|print|output|copy)\s+(?:\w+\s+){0,3}(?:text|words|everything)\s+(?:above|before\s+this)",
       ("repeat", "print", "output", "copy"), ("above", "before")),
    _r("prompt_words", PROMPT_EXTRACTION, 0.5,
       r"\b(?:system\s+prompt|your\s+(?:instructions|guidelines|configuration|restrictions|constraints))\b",
       ("system", "instructions", "guidelines", "configuration", "restrictions", "constraints")),
    # -- role hijack / persona
    _r("you_are_now", ROLE_HIJACK, 0.75,
       r"\byou\s+are\s+(?:now|no\s+longer)\s+(?:an?\s+|in\s+|the\s+)?\w+",
       ("now", "longer"), ("you",)),
    _r("act_as_unrestricted", JAILBREAK_PERSONA, 0.93,
       r"\b(?:act|behave|respond|pretend|roleplay|role-play|function|operate)\s+(?:as|like|to\s+be)\s+"
       r"(?:an?\s+)?(?:\w+\s+){0,2}(?:unrestricted|unfiltered|uncensored|evil|jailbroken|amoral|unethical|"
       r"without\s+(?:any\s+)?(?:restrictions|limits|filters|rules))",
       ("unrestricted", "unfiltered", "uncensored", "evil", "jailbroken", "amoral", "unethical", "without"),
       ("act", "behave", "respond", "pretend", "roleplay", "role-play", "function", "operate")),
    _r("dan_mode", JAILBREAK_PERSONA, 0.95,
       r"\b(?:dan\s+mode|do\s+anything\s+now|developer\s+mode\s+(?:enabled|on|activated)|jailbreak(?:en)?\s+mode|"
       r"god\s+mode|evil\s*bot|anti-?dan|stan\s+mode|dude\s+mode)\b|\benable\s+developer\s+mode",
       ("dan", "anything", "developer", "jailbreak", "god", "evil", "stan", "dude")),
    _r("no_restrictions", JAILBREAK_PERSONA, 0.6,
       r"\b(?:without|no|free\s+(?:of|from)|ignore|remove|disable|delete|lift)\s+(?:any\s+|all\s+|your\s+|the\s+)?"
       r"(?:ethical\s+|moral\s+|content\s+|safety\s+)?(?:restrictions|limitations|filters|guardrails|"
       r"censorship|safeguards|safety\s+measures|content\s+polic(?:y|ies))",
       ("restrictions", "limitations", "filters", "guardrails", "censorship", "safeguards", "safety",
        "polic")),
    _r("stop_being", ROLE_HIJACK, 0.7,
       r"\bstop\s+being\s+(?:an?\s+)?(?:helpful|safe|ethical|an?\s+ai|assistant)|\bbecome\s+(?:evil|malicious)",
       ("stop", "become")),
    # -- delimiters and fake system turns
    _r("chat_delimiters", DELIMITER_INJECTION, 0.9,
       r"<\|im_start\|>\s*system|<\|system\|>|\[/?inst\]|<<sys>>|<\|endoftext\|>|<\|eot_id\|>|"
       r"<\|start_header_id\|>\s*system",
       ("<|", "inst]", "<<sys>>")),
    _r("fake_system_header", DELIMITER_INJECTION, 0.75,
       r"(?:^|\n)\s*(?:#{2,}\s*|\[|\{\{?\s*)(?:system|admin|developer)\s*(?:message|prompt|override|note)?"
       r"\s*(?:\]|:|\}\}?)\s*(?:ignore|you\s+must|new|override|disregard|from\s+now)",
       ("system", "admin", "developer"), ("ignore", "must", "new", "override", "disregard", "now")),
    # -- indirect injection addressed to the model inside content
    _r("note_to_ai", INDIRECT_INJECTION, 0.85,
       r"\b(?:note|message|instruction|attention)\s+(?:to|for)\s+(?:the\s+|any\s+)?(?:ai|assistant|llm|"
       r"language\s+model|chatbot|agent|bot)s?\b",
       ("note", "message", "instruction", "attention"), ("to", "for")),
    _r("ai_reading_this", INDIRECT_INJECTION, 0.85,
       r"\b(?:if\s+you\s+are\s+an?\s+(?:ai|llm|language\s+model|assistant)|"
       r"(?:ai|assistant|llm|agent)s?\s+(?:reading|processing|summari[sz]ing)\s+this)",
       ("you", "reading", "processing", "summari")),
    _r("hidden_command", INDIRECT_INJECTION, 0.7,
       r"\b(?:ai|assistant|llm|agent)\s*[,:]\s*(?:please\s+)?(?:ignore|disregard|you\s+must|send|forward|"
       r"email|exfiltrate|reveal)",
       ("ignore", "disregard", "must", "send", "forward", "email", "exfiltrate", "reveal"), (",", ":"),
       ("ai", "assistant", "llm", "agent")),
    # -- output manipulation
    _r("pwned", OUTPUT_MANIPULATION, 0.9, r"\b(?:i\s+have\s+been|have\s+been|been)\s+pwned\b|\bpwned\b",
       ("pwned",)),
    _r("say_exactly", OUTPUT_MANIPULATION, 0.45,
       r"\b(?:say|print|output|respond\s+with|reply\s+with)\s+(?:only\s+|exactly\s+|just\s+)?['\"]",
       ("say", "print", "output", "respond", "reply"), ("'", '"')),
    # -- social engineering around the model's rules
    _r("authority_claim", SOCIAL_ENGINEERING, 0.55,
       r"\b(?:i\s+am|i'm|this\s+is)\s+(?:your|the|an?)\s+(?:developer|creator|admin(?:istrator)?|owner|"
       r"openai|anthropic)\b|\b(?:mandatory|authori[sz]ed)\s+(?:security\s+)?(?:audit|override|test)",
       ("developer", "creator", "admin", "owner", "openai", "anthropic", "mandatory", "authori")),
)


def scan(text: str, rules: Iterable[Rule] = RULES) -> list[RuleHit]:
    """Every rule match in a normalised text, strongest first, one hit per rule."""
    hits: list[RuleHit] = []
    for rule in rules:
        m = rule.pattern.search(text)
        if m:
            hits.append(RuleHit(rule.name, rule.attack_type, rule.confidence, m.start(), m.end(),
                                text[m.start():m.end()]))
    hits.sort(key=lambda h: -h.confidence)
    return hits


def scan_many(texts: Sequence[str]) -> list[list[RuleHit]]:
    """:func:`scan` of each text, skipping the rules whose required words a text lacks.

    For ASCII texts the words of each rule's first group are searched all at once (one pass over the
    joined, lower-cased batch, and only for words that occur in it at all), the other groups only in
    the texts found, and a rule's pattern runs only on the texts holding a word of each group. Other
    texts are scanned in full (case folding beyond ASCII is not simple lower-casing)."""
    plain = [i for i, t in enumerate(texts) if t.isascii()]
    out: list[list[RuleHit]] = [[] if t.isascii() else scan(t) for t in texts]
    if not plain:
        return out
    index = NeedIndex(JoinedTexts([texts[i] for i in plain], str.lower))  # ASCII: lower-casing keeps the length
    per_text: dict[int, list[Rule]] = {}
    for rule in RULES:
        for k in index.meeting(rule.requires):
            per_text.setdefault(k, []).append(rule)
    for k, rules in per_text.items():
        out[plain[k]] = scan(texts[plain[k]], rules)
    return out


__all__ = ["RULES", "Rule", "RuleHit", "scan", "scan_many"]
