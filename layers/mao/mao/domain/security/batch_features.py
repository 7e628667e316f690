"""The injection model's linear stage for many texts at once, in numpy, equal to the one-text scorer.

:func:`mao.domain.security.features.hashed` hashes each feature string with CRC-32, one text at a
time in Python (~100 us for a paragraph). Here the same buckets are computed for a whole batch with a
handful of array operations, using that CRC-32 is affine over GF(2): for a message of ``L`` bytes,

    crc32(m) = crc32(0^L) XOR (XOR over j of E[L-1-j][m_j])

where ``E[d][v]`` is the contribution of byte ``v`` followed by ``d`` more bytes. Character n-grams,
words and word bigrams are then table look-ups and XOR-reductions over the concatenated texts, and
the distinct buckets per text come from one ``np.unique``. Only ASCII texts take this path (their
characters are their bytes); others, and words longer than :data:`MAX_WORD`, use the one-text
scorer. The logit arithmetic is the one-text scorer's, operation for operation, so both give the same
probability; a unit test holds them equal on real and adversarial texts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING
from zlib import crc32

from mao.domain.security.features import CHAR_NGRAMS, N_BUCKETS
from mao.domain.security.injection_model import LinearModel, sigmoid

if TYPE_CHECKING:
    import numpy as np

MAX_WORD = 255  # longest word (bytes) hashed in numpy; a text with a longer one uses the one-text scorer
CHUNK = 1 << 13  # texts per numpy batch: a text number and a bucket then fit in one uint32 key (13 + 18 bits)
_SHIFT = N_BUCKETS.bit_length() - 1
_MASK = N_BUCKETS - 1


@cache
def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """E[d, v] (byte contributions by distance from the end), Z[L] = crc32(0^L), and \\w of each byte."""
    import numpy as np

    depth = 2 * MAX_WORD + 4  # a bigram "b:" + a + " " + b is at most 2 * MAX_WORD + 3 bytes
    poly = np.uint32(0xEDB88320)
    crc_table = np.arange(256, dtype=np.uint32)
    for _ in range(8):  # the reflected CRC-32 byte table
        crc_table = np.where(crc_table & 1, (crc_table >> 1) ^ poly, crc_table >> 1).astype(np.uint32)
    zero = crc32(b"\0")
    e = np.empty((depth, 256), dtype=np.uint32)
    e[0] = np.array([crc32(bytes([v])) ^ zero for v in range(256)], dtype=np.uint32)
    for d in range(1, depth):  # one more zero byte after the contribution: one step of the register
        prev = e[d - 1]
        e[d] = (prev >> 8) ^ crc_table[prev & 0xFF]
    z = np.empty(depth + 1, dtype=np.uint32)
    value = 0
    for length in range(depth + 1):
        z[length] = value
        value = crc32(b"\0", value)
    word = np.zeros(256, dtype=bool)
    for ch in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_":
        word[ch] = True
    return e, z, word


_WEIGHTS: list[tuple[LinearModel, np.ndarray]] = []


def _weights(model: LinearModel) -> np.ndarray:
    """The model's weights as a numpy array, converted once per model."""
    import numpy as np

    for known, array in _WEIGHTS:
        if known is model:
            return array
    array = np.frombuffer(model.weights, dtype=np.int8)  # 256 KiB: look-ups stay in cache
    _WEIGHTS[:] = [(model, array)]
    return array


def _bucket(feature: str) -> int:
    return crc32(feature.encode("utf-8")) & _MASK


def linear_probabilities(model: LinearModel, items: Sequence[tuple[str, Sequence[str]]],
                         min_batch: int = 8) -> list[float]:
    """The linear stage's probability for each (normalised text, obfuscation kinds) pair."""
    ascii_rows = [i for i, (text, _) in enumerate(items) if text.isascii()]
    out = [0.0] * len(items)
    if len(ascii_rows) < min_batch:  # numpy's fixed costs outweigh the work
        ascii_rows = []
    numpy_rows = set(ascii_rows)
    for i, (text, obfuscation) in enumerate(items):
        if i not in numpy_rows:
            out[i] = model.probability(text, obfuscation)
    for at in range(0, len(ascii_rows), CHUNK):
        rows = ascii_rows[at:at + CHUNK]
        logits, too_long = _batch_logits(model, [items[i] for i in rows])
        for row, z, long_word in zip(rows, logits, too_long, strict=True):
            text, obfuscation = items[row]
            out[row] = model.probability(text, obfuscation) if long_word else sigmoid(z)
    return out


def _batch_logits(model: LinearModel, items: Sequence[tuple[str, Sequence[str]]]) -> tuple[list[float], list[bool]]:
    import numpy as np

    e, z, is_word = _tables()
    n_texts = len(items)
    # " ".join(text.split()) is features.py's whitespace collapse (re's \s and str.split agree on str).
    flats = [" " + " ".join(text.split()) + " " for text, _ in items]
    lengths = np.array([len(f) for f in flats], dtype=np.int64)
    data = np.frombuffer("".join(flats).encode("ascii"), dtype=np.uint8).astype(np.intp)  # intp: fast gathers
    ends = np.cumsum(lengths)
    text_key = np.repeat(np.arange(n_texts, dtype=np.uint32) << _SHIFT, lengths)  # text number in the high bits
    keys: list[np.ndarray] = []

    # Character n-grams of the flattened text, prefixed "c:"; the n - 1 starts before each text's end
    # would cross into the next text and are dropped.
    for n in CHAR_NGRAMS:
        count = len(data) - n + 1
        if count <= 0:
            continue
        h = np.full(count, z[n + 2] ^ e[n + 1, ord("c")] ^ e[n, ord(":")], dtype=np.uint32)
        for k in range(n):
            h ^= e[n - 1 - k][data[k:k + count]]
        valid = np.ones(count, dtype=bool)
        crossing = (ends[:, None] - np.arange(1, n, dtype=np.int64)[None, :]).ravel()
        valid[crossing[crossing < count]] = False
        keys.append((text_key[:count] | (h & _MASK))[valid])

    # Words (runs of \w, identical in the text and its flattened form), prefixed "w:", and bigrams "b:a b".
    w = is_word[data]
    word_start = w.copy()
    word_start[1:] &= ~w[:-1]
    word_stop = w.copy()
    word_stop[:-1] &= ~w[1:]
    starts = np.flatnonzero(word_start)
    stops = np.flatnonzero(word_stop) + 1
    word_len = stops - starts
    word_key = text_key[starts]
    too_long = np.zeros(n_texts, dtype=bool)
    has_words = np.zeros(n_texts, dtype=bool)
    if len(starts):
        word_text = word_key >> _SHIFT
        has_words[word_text] = True
        too_long[word_text[word_len > MAX_WORD]] = True
        lens = np.minimum(word_len, MAX_WORD)
        inside = np.flatnonzero(w)
        word_of = np.repeat(np.arange(len(starts)), word_len)
        to_end = np.minimum(np.repeat(stops, word_len) - inside - 1, MAX_WORD - 1)
        byte = data[inside]
        first = np.concatenate(([0], np.cumsum(word_len)[:-1]))
        xor_word = np.bitwise_xor.reduceat(e[to_end, byte], first)
        word_hash = z[lens + 2] ^ e[lens + 1, ord("w")] ^ e[lens, ord(":")] ^ xor_word
        keys.append(word_key | (word_hash & _MASK))
        if len(starts) > 1:
            next_len = np.concatenate((lens[1:], [0]))
            shifted = np.bitwise_xor.reduceat(e[to_end + next_len[word_of] + 1, byte], first)
            pair = np.flatnonzero(word_key[:-1] == word_key[1:])
            a, b = lens[pair], lens[pair + 1]
            total = a + b + 3
            bigram = (z[total] ^ e[total - 1, ord("b")] ^ e[total - 2, ord(":")] ^ shifted[pair]
                      ^ e[b, ord(" ")] ^ xor_word[pair + 1])
            keys.append(word_key[pair] | (bigram & _MASK))

    # Disguises the normaliser undid, and the marker of a text without words.
    extra = [(i << _SHIFT) | _bucket("o:" + kind) for i, (_, kinds) in enumerate(items) if kinds for kind in kinds]
    empty = _bucket("empty")
    extra += [(int(i) << _SHIFT) | empty for i in np.flatnonzero(~has_words)]
    if extra:
        keys.append(np.array(extra, dtype=np.uint32))

    # Distinct (text, bucket) keys, sorted: each text's buckets form one contiguous run.
    ordered = np.sort(np.concatenate(keys))
    keep = np.ones(len(ordered), dtype=bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    distinct = ordered[keep]
    # Every text has at least one key (its words, or the "empty" marker), so no run is empty.
    bounds = np.searchsorted(distinct >> _SHIFT, np.arange(n_texts + 1, dtype=np.uint32))
    totals = np.add.reduceat(_weights(model)[(distinct & _MASK).astype(np.intp)], bounds[:-1], dtype=np.int64).tolist()
    counts = np.diff(bounds).tolist()
    bias, scale, sqrt = model.bias, model.scale, math.sqrt
    logits = [bias + scale * t / sqrt(c) if c else bias for t, c in zip(totals, counts, strict=True)]
    return logits, too_long.tolist()


__all__ = ["MAX_WORD", "linear_probabilities"]
