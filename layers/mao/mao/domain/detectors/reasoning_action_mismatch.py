"""F11 Reasoning-action mismatch: the plan an agent states and the action it takes disagree.

Checks, each on one step and the tool actions that follow it:

- announced tool vs called tool: "I'll search the docs" followed by a call to a different known tool;
- negated intent: "I will not delete anything" followed by a call to the tool it ruled out;
- announced target vs arguments: "I'll update config/prod.yaml" followed by a call on another file;
- conclusion vs answer: reasoning concludes "so the total is 42" and the same message answers 24;
- announced hand-off vs next speaker: "I'll ask the Reviewer" and a different agent is called next.

Tool names come from the run itself (every tool called or answering in it), never from a fixed list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from mao.domain.detectors import _text_extra as tx
from mao.domain.detectors.base import DetectorSpec, ThresholdSpec
from mao.domain.models import Detection, Run, Step
from mao.domain.taxonomy import mode

SPEC = DetectorSpec(
    key="reasoning_action_mismatch",
    name=mode("F11").name,
    version="1.0.0",
    f_code="F11",
    thresholds={
        "min_confidence": ThresholdSpec(0.55, 0.0, 1.0, "lowest confidence reported"),
        "action_window": ThresholdSpec(
            4, 1, 20, "tool steps after a message that count as its action", integer=True
        ),
    },
    fix_types=("prompt_patch", "verification_step"),
)

_INTENT = re.compile(
    r"\b(?:i will|i'll|i won'?t|i will not|i(?:'m| am) not going to|i (?:must|should) not|i shouldn'?t|"
    r"i am going to|i'm going to|let me|next,? i(?:'ll| will)?|now i(?:'ll| will)?|"
    r"i need to|my next step is to|i plan to|we will|we'll|i should|i must|the next step is to)\b"
)
_INTENT_GATE = (
    "i will",
    "i'll",
    "i won",
    "not going to",
    "i must",
    "i should",
    "going to",
    "let me",
    "next",
    "now i",
    "need to",
    "plan to",
    "we will",
    "we'll",
    "i should",
    "i must",
)
# Every _INTENT phrase contains one of these whole words ("i'll" -> "ll", "let me" -> "let", "i won't" ->
# "won"), so a message with none of them states no intent (an exact pre-test, see tx.word_runs).
_INTENT_WORDS = frozenset({
    "will", "ll", "won", "wont", "going", "must", "should", "shouldn", "shouldnt", "let", "next", "now", "need",
    "plan",
})
_NEG = re.compile(r"\b(?:not|never|won'?t|avoid|without|no longer|refrain from)\b")
_HANDOFF = re.compile(
    r"\b(?:ask|delegate|hand(?:ing)?(?: it)? (?:off|over)|pass(?:ing)?|assign|send|forward|"
    r"transfer|route|escalate|have)\b"
)
_CONCLUSION = re.compile(
    r"\b(?:therefore|thus|hence|so|which gives|this gives|that gives|in total|altogether)\b[^.\n]{0,60}?"
    r"\b(?:is|are|equals|=|comes to|gives)\s*\$?(-?\d[\d,]*(?:\.\d+)?)"
)
_FINAL = re.compile(r"\bfinal answer\b\W{0,5}(?:is\s*)?\$?(-?\d[\d,]*(?:\.\d+)?)")
_PATHLIKE = re.compile(
    r"(?:[\w.-]+/)+[\w.-]+|[\w-]+\.(?:py|js|ts|json|ya?ml|sql|md|csv|txt|html|go|rs|"
    r"cfg|ini|toml)"
)


def _tool_aliases(run: Run, tool_steps: list[bool] | None = None) -> dict[str, tuple[str, ...]]:
    """Ways messages name each tool of the run; ``tool_steps`` (by position) saves classifying steps again."""
    if tool_steps is None:
        tool_steps = [tx.is_tool_step(s) for s in run.steps]
    names: set[str] = set()
    speakers = {s.agent for s, is_tool in zip(run.steps, tool_steps, strict=True) if not is_tool}
    for step, is_tool in zip(run.steps, tool_steps, strict=True):
        for call in step.tool_calls:
            if call.name:
                names.add(call.name)
        if is_tool and not step.tool_calls and step.agent and step.agent not in speakers:
            names.add(step.agent)
    out: dict[str, tuple[str, ...]] = {}
    for name in names:
        forms = {name.lower(), name.lower().replace("_", " "), name.lower().replace("-", " ")}
        out[name] = tuple(f for f in forms if len(f) >= 3)
    return out


def _actions(run: Run, step: Step, window: int) -> list[tuple[str, str, Step]]:
    """(tool name, arguments text, step) for the calls this message makes or triggers."""
    acts = [(c.name, tx.arguments_text(c), step) for c in step.tool_calls if c.name]
    if acts:
        return acts
    for later in run.steps[step.index + 1 : step.index + 1 + window]:
        if not tx.is_tool_step(later):
            break
        if later.tool_calls:
            acts.extend((c.name, tx.arguments_text(c), later) for c in later.tool_calls if c.name)
        else:
            acts.append((later.agent, later.input, later))
    return acts


def _mentioned_tools(text_low: str, aliases: dict[str, tuple[str, ...]]) -> tuple[set[str], set[str]]:
    """Tools named in an intent sentence, split into announced and ruled out ('I won't call X')."""
    announced: set[str] = set()
    ruled_out: set[str] = set()
    for name, forms in aliases.items():
        for form in forms:
            i = text_low.find(form)
            if i == -1:
                continue
            before = text_low[max(0, i - 30) : i]
            (ruled_out if _NEG.search(before) else announced).add(name)
            break
    return announced, ruled_out


def detect(run: Run, thresholds: Mapping[str, float]) -> list[Detection]:
    min_conf = float(thresholds.get("min_confidence", 0.55))
    window = int(thresholds.get("action_window", 4))
    tool_steps = [tx.is_tool_step(s) for s in run.steps]
    aliases = _tool_aliases(run, tool_steps)
    speaking = {s.agent for s, is_tool in zip(run.steps, tool_steps, strict=True) if not is_tool}
    agents = [a for a in run.agents if a in speaking]
    detections: list[Detection] = []
    for step, is_tool in zip(run.steps, tool_steps, strict=True):
        content = step.content
        if not content or is_tool or tx.is_user_step(step):
            continue
        low = tx.lower(content)
        found = _conclusion_mismatch(step, low)
        # An intent sentence matches _INTENT, so the whole message does too: without one of its words, none.
        if found is None and tx.any_word(content, _INTENT_WORDS) and any(g in low for g in _INTENT_GATE):
            found = _intent_mismatch(run, step, low, aliases, agents, window)
        if found is not None and found[0] >= min_conf:
            detections.append(_detection(step, *found))
    return detections


def _intent_sentences(step: Step) -> list[str]:
    out = []
    for sentence in tx.sentences(step.content):
        m = _INTENT.search(sentence.lower())
        if m:
            out.append(sentence[m.start() :])
    return out


def _intent_mismatch(
    run: Run, step: Step, low: str, aliases: dict[str, tuple[str, ...]], agents: list[str], window: int
) -> tuple[float, str, list[tuple[Step, str, str]]] | None:
    intents = _intent_sentences(step)
    if not intents:
        return None
    acts = _actions(run, step, window)
    called = {name for name, _, _ in acts}
    for sentence in intents:
        s_low = sentence.lower()
        announced, ruled_out = _mentioned_tools(s_low, aliases) if aliases else (set(), set())
        if acts and ruled_out & called:
            name = sorted(ruled_out & called)[0]
            act_step = next(s for n, _, s in acts if n == name)
            return (
                0.85,
                f"said it would not use {name} but then called it",
                [(step, sentence, "stated intent"), (act_step, _act_quote(acts, name), "action taken")],
            )
        if acts and announced and not announced & called:
            shown = ", ".join(sorted(announced))
            did = ", ".join(sorted(called))
            return (
                0.75,
                f"announced {shown} but called {did}",
                [
                    (step, sentence, "stated intent"),
                    (acts[0][2], _act_quote(acts, acts[0][0]), "action taken"),
                ],
            )
        targets = [t for t in _PATHLIKE.findall(sentence) if "/" in t or "." in t]
        if acts and targets:
            scope = (announced & called) or called
            args_low = " ".join(a.lower() for n, a, _ in acts if n in scope)
            other = _PATHLIKE.findall(args_low)
            if other and not any(t.lower() in args_low for t in targets):
                name = sorted(scope)[0]
                return (
                    0.7,
                    (f"said it would act on {targets[0]} but called {name} on {other[0]}"),
                    [(step, sentence, "stated intent"), (acts[0][2], _act_quote(acts, name), "action taken")],
                )
        if _HANDOFF.search(s_low):
            mismatch = _handoff_mismatch(run, step, sentence, agents)
            if mismatch is not None:
                return mismatch
    return None


def _handoff_mismatch(
    run: Run, step: Step, sentence: str, agents: list[str]
) -> tuple[float, str, list[tuple[Step, str, str]]] | None:
    s_low = sentence.lower()
    named = [a for a in tx.agent_mentions(s_low, agents) if a != step.agent]
    if len(named) != 1:
        return None
    steps = run.steps
    for i in range(step.index + 1, len(steps)):  # walks from the step without copying the rest of the run
        later = steps[i]
        if tx.is_tool_step(later) or tx.is_user_step(later):
            continue
        if later.agent in (step.agent, named[0]):
            return None
        return (
            0.6,
            f"said it would hand over to {named[0]} but {later.agent} acted next",
            [(step, sentence, "stated hand-off"), (later, later.content, "agent that acted instead")],
        )
    return None


def _conclusion_mismatch(step: Step, low: str) -> tuple[float, str, list[tuple[Step, str, str]]] | None:
    if "final answer" not in low:
        return None
    final = _FINAL.search(low)
    if final is None:
        return None
    concluded = [m for m in _CONCLUSION.finditer(low[: final.start()])]
    if not concluded:
        return None
    last = concluded[-1]
    a, b = _num(last.group(1)), _num(final.group(1))
    if a is None or b is None or a == b:
        return None
    return (
        0.8,
        f"its reasoning concludes {last.group(1)} but its final answer is {final.group(1)}",
        [
            (step, step.content[last.start() : last.end() + 40], "conclusion of the reasoning"),
            (step, step.content[final.start() : final.end() + 20], "answer given"),
        ],
    )


def _num(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def _act_quote(acts: list[tuple[str, str, Step]], name: str) -> str:
    for n, args, _ in acts:
        if n == name:
            return f"{n}({args})"
    return name


def _detection(step: Step, confidence: float, reason: str, quotes: list[tuple[Step, str, str]]) -> Detection:
    explanation = (
        f"{step.agent} at step {step.index} {reason}. Its stated reasoning and its action disagree; "
        f"require the action to follow the plan (or the plan to be restated) before the step runs."
    )
    return tx.detection(SPEC, confidence, explanation, [tx.evidence(s, q, note=n) for s, q, n in quotes],
                        {"agent": step.agent})
