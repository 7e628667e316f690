"""Hashed text features shared by the injection model's training script and its run-time scorer.

Word unigrams and bigrams plus character 3-5-grams of the normalised text, and the disguises the
normaliser undid, hashed with CRC-32 into a fixed number of buckets. Features are binary and the
vector is L2-normalised, so the score does not grow with the length of the text.

Training and scoring must hash identically: change nothing here without retraining the model.
"""

from __future__ import annotations

import re
from itertools import pairwise
from zlib import crc32

N_BUCKETS = 1 << 18
CHAR_NGRAMS = (3, 4, 5)
_TOKEN = re.compile(r"\w+", re.UNICODE)
_SPACE = re.compile(r"\s+")


def feature_strings(text: str, obfuscation: list[str] | tuple[str, ...] = ()) -> set[str]:
    """The distinct feature strings of an already-normalised text."""
    feats: set[str] = set()
    words = _TOKEN.findall(text)
    feats.update("w:" + w for w in words)
    feats.update(f"b:{a} {b}" for a, b in pairwise(words))
    flat = " " + _SPACE.sub(" ", text).strip() + " "
    for n in CHAR_NGRAMS:
        feats.update("c:" + flat[i:i + n] for i in range(len(flat) - n + 1))
    feats.update("o:" + kind for kind in obfuscation)
    if not words:
        feats.add("empty")
    return feats


_MASK = N_BUCKETS - 1
_MEMO_LIMIT = 1 << 19  # feature strings whose bucket is remembered (per kind); the memo restarts when full
_WORD_BUCKETS: dict[str, int] = {}
_BIGRAM_BUCKETS: dict[str, int] = {}
_CHAR_BUCKETS: dict[str, int] = {}


def _bucket(memo: dict[str, int], prefix: str, key: str) -> int:
    bucket = memo.get(key)
    if bucket is None:
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        bucket = memo[key] = crc32((prefix + key).encode("utf-8")) & _MASK
    return bucket


def hashed(text: str, obfuscation: list[str] | tuple[str, ...] = ()) -> list[int]:
    """Sorted distinct bucket ids of the text's features (the same ids as hashing
    :func:`feature_strings`; buckets of recurring words and n-grams are remembered)."""
    out: set[int] = set()
    words = _TOKEN.findall(text)
    for w in words:
        out.add(_bucket(_WORD_BUCKETS, "w:", w))
    for a, b in pairwise(words):
        out.add(_bucket(_BIGRAM_BUCKETS, "b:", f"{a} {b}"))
    flat = " " + _SPACE.sub(" ", text).strip() + " "
    grams = {flat[i:i + n] for n in CHAR_NGRAMS for i in range(len(flat) - n + 1)}
    for g in grams:
        out.add(_bucket(_CHAR_BUCKETS, "c:", g))
    out.update(crc32(("o:" + kind).encode("utf-8")) & _MASK for kind in obfuscation)
    if not words:
        out.add(crc32(b"empty") & _MASK)
    return sorted(out)


__all__ = ["CHAR_NGRAMS", "N_BUCKETS", "feature_strings", "hashed"]
