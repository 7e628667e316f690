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


def hashed(text: str, obfuscation: list[str] | tuple[str, ...] = ()) -> list[int]:
    """Sorted distinct bucket ids of the text's features."""
    return sorted({crc32(f.encode("utf-8")) & (N_BUCKETS - 1) for f in feature_strings(text, obfuscation)})


__all__ = ["CHAR_NGRAMS", "N_BUCKETS", "feature_strings", "hashed"]
