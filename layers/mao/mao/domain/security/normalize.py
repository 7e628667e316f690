"""Undo the usual disguises of an injected instruction before it is scored.

Attackers hide instructions from keyword filters with invisible characters, look-alike letters from
other scripts, leetspeak, letter spacing, and encodings (base64, hex, URL, ``\\x``/``\\u`` escapes,
character-code lists, rot13, reversed text). :func:`normalize` produces one canonical, lower-cased
text for the rules and the model, with decoded payloads appended, and records which disguises it saw
(themselves a signal).

Folding is conservative where it could damage ordinary text: look-alike letters are folded only in
words that mix scripts, and leetspeak only in words that mix letters with digit/symbol stand-ins in
the middle of a word, so real Cyrillic or Greek text and ordinary identifiers stay intact.
"""

# ruff: noqa: RUF001  (the look-alike letters below are the point of this module)
from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import unquote

from mao.domain.joined_texts import JoinedTexts

if TYPE_CHECKING:
    import numpy as np

# Cyrillic / Greek / other letters that render like Latin ones.
_HOMOGLYPHS: dict[str, str] = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "ь": "b", "ɡ": "g", "һ": "h", "ӏ": "l", "ո": "n", "ս": "u", "α": "a", "β": "b", "ε": "e", "η": "n",
    "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w",
    "ϲ": "c", "ɑ": "a", "ɩ": "i", "ı": "i", "ℓ": "l", "ꓲ": "i", "ᴀ": "a", "ʀ": "r",
}
_LEET: dict[str, str] = {
    "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "6": "g", "7": "t", "8": "b", "9": "g",
    "@": "a", "$": "s", "€": "e", "|": "l", "!": "i", "+": "t",
}
_LATIN = re.compile(r"[a-z]")
_NON_LATIN_LETTER = re.compile(r"[^\W\da-z_]")
_WORD = re.compile(r"[^\s\"'`()\[\]{}<>,;:.?/\\=*#~^]+")
_LEET_WORD = re.compile(r"^[a-z]+(?:[0-9@$€|!+][a-z]+)+[0-9@$€|!+]?$|^[0-9@$€|][a-z]{2,}[a-z0-9@$€|]*$")

_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0]"
)
_TAG_CHARS = re.compile("[\U000e0000-\U000e007f]+")
_B64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")
_HEX = re.compile(r"(?<![0-9a-fA-F])(?:[0-9a-fA-F]{2}[ :]?){8,}(?![0-9a-fA-F])")
_ESCAPES = re.compile(r"(?:\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|&#x?[0-9a-fA-F]{2,5};){4,}")
_URLENC = re.compile(r"(?:%[0-9a-fA-F]{2}[^%\s]{0,2}){4,}")
_CHARCODES = re.compile(r"(?:\d{2,3}\s*,\s*){3,}\d{2,3}")
_SPACED = re.compile(r"(?<!\S)(?:\w[ \t.\-_*|\\/]{1,2}){3,}\w(?!\S)")
_SEPARATED = re.compile(r"(?:[^\W\d_][\\|*_~.\-](?=[^\W\d_])){3,}[^\W\d_]")
_CONCAT = re.compile(r"""(?:(['"])([^'"\n]{1,20})\1\s*\+\s*){1,}(['"])([^'"\n]{1,20})\3""")
_FRAGMENT = re.compile(r"""(['"])([^'"\n]{1,20})\1""")
_ROT13_HINT = re.compile(r"\brot[\s-]?13\b|\bcaesar\b", re.IGNORECASE)
_REVERSE_HINT = re.compile(r"\brevers(?:e|ed|ing)\b|\bbackwards?\b", re.IGNORECASE)
_MAX_DECODED = 8


@dataclass(slots=True)
class Normalized:
    """The canonical text and what was undone to reach it."""

    text: str
    decoded: list[str] = field(default_factory=list)
    obfuscation: list[str] = field(default_factory=list)

    @property
    def full(self) -> str:
        """Canonical text with decoded payloads appended (what the rules and the model read)."""
        if not self.decoded:
            return self.text
        return self.text + "\n" + "\n".join(self.decoded)


def _printable_ratio(text: str) -> float:
    if not text:
        return 0.0
    good = sum(1 for ch in text if ch.isprintable() or ch in "\n\t")
    return good / len(text)


def _looks_like_words(text: str) -> bool:
    """Decoded bytes count only if they read as text (letters and spaces), not as binary or ids."""
    if len(text) < 6 or _printable_ratio(text) < 0.95:
        return False
    letters = sum(ch.isalpha() for ch in text)
    return letters / len(text) >= 0.6 and (" " in text or len(text) <= 24)


def _decode_base64(token: str) -> str | None:
    if not re.search(r"[A-Z]", token) or not re.search(r"[a-z]", token):
        return None  # hashes, ids and plain words are single-case or hex
    raw = token.replace("-", "+").replace("_", "/")
    raw += "=" * (-len(raw) % 4)
    try:
        data = base64.b64decode(raw, validate=True)
        text = data.decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return text if _looks_like_words(text) else None


def _decode_hex(token: str) -> str | None:
    digits = re.sub(r"[ :]", "", token)
    if len(digits) % 2 or not re.search(r"[a-fA-F]", digits):
        return None
    try:
        text = bytes.fromhex(digits).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return text if _looks_like_words(text) else None


def _decode_escapes(token: str) -> str | None:
    def one(m: re.Match[str]) -> str:
        s = m.group(0)
        if s.startswith("&#"):
            body = s[2:-1]
            return chr(int(body[1:], 16) if body[:1] in "xX" else int(body))
        return chr(int(s[2:], 16))

    text = re.sub(r"\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|&#x?[0-9a-fA-F]{2,5};", one, token)
    return text if _looks_like_words(text) else None


def _decode_charcodes(token: str) -> str | None:
    codes = [int(c) for c in re.findall(r"\d+", token)]
    if not all(32 <= c < 127 for c in codes):
        return None
    text = "".join(map(chr, codes))
    return text if _looks_like_words(text) else None


def _fold_word(word: str) -> tuple[str, set[str]]:
    kinds: set[str] = set()
    if _NON_LATIN_LETTER.search(word) and _LATIN.search(word):
        folded = "".join(_HOMOGLYPHS.get(c, c) for c in word)
        if folded != word and _LATIN.search(folded) and not _NON_LATIN_LETTER.search(folded):
            kinds.add("homoglyph")
            word = folded
    if (len(word) <= 20 and _LEET_WORD.match(word)
            and not re.fullmatch(r"[a-z]+\d+|\d+(?:st|nd|rd|th|px|ms|kb|mb|gb)", word)
            and not (len(word) <= 4 and re.fullmatch(r"[a-z]*\d+[a-z]?", word))):
        folded = "".join(_LEET.get(c, c) for c in word)
        if folded != word:
            kinds.add("leetspeak")
            word = folded
    return word, kinds


def _join_spaced(text: str, kinds: set[str]) -> str:
    def join(m: re.Match[str]) -> str:
        s = m.group(0)
        letters = re.findall(r"\w", s)
        if len(letters) < 4:
            return s
        kinds.add("split")
        return "".join(letters)

    text = _SPACED.sub(join, text)

    def unsep(m: re.Match[str]) -> str:
        kinds.add("split")
        return re.sub(r"[\\|*_~.\-]", "", m.group(0))

    text = _SEPARATED.sub(unsep, text)

    def concat(m: re.Match[str]) -> str:
        kinds.add("split")
        return "".join(f[1] for f in _FRAGMENT.findall(m.group(0)))

    return _CONCAT.sub(concat, text)


def _rot13_words(text: str) -> str:
    return codecs.decode(text, "rot_13")


# A word that _fold_word can change (leetspeak needs a letter next to a stand-in; look-alike letters
# need a non-ASCII letter): only those words are visited.
_WORD_CHAR = r"[^\s\"'`()\[\]{}<>,;:.?/\\=*#~^]"
_FOLDABLE_WORD = re.compile(rf"(?<!{_WORD_CHAR}){_WORD_CHAR}*"
                            r"(?:[a-z][0-9@$€|!+]|[0-9@$€|][a-z]|[^\x00-\x7f\s])"
                            rf"{_WORD_CHAR}*")


def normalize(text: str) -> Normalized:
    """Canonical lower-cased text, decoded payloads and the disguises found."""
    raw = text or ""
    kinds: set[str] = set()
    decoded: list[str] = []

    # Unicode "tag" characters can carry an invisible ASCII copy of an instruction.
    def untag(m: re.Match[str]) -> str:
        hidden = "".join(chr(ord(c) - 0xE0000) for c in m.group(0) if 0xE0020 <= ord(c) <= 0xE007E)
        if hidden.strip():
            kinds.add("invisible")
            decoded.append(hidden.lower())
        return ""

    ascii_only = raw.isascii()
    if ascii_only:
        s = raw
    else:
        raw = _TAG_CHARS.sub(untag, raw)
        stripped = _INVISIBLE.sub("", raw)
        if stripped != raw:
            kinds.add("invisible")
        s = unicodedata.normalize("NFKC", stripped)
        if s != stripped and any(unicodedata.category(c) in ("So", "Lm") or ord(c) > 0x2000 for c in stripped
                                 if unicodedata.normalize("NFKC", c) != c and c.isalpha()):
            kinds.add("unicode")

    for pattern, decoder, kind in (
        (_B64, _decode_base64, "base64"),
        (_HEX, _decode_hex, "hex"),
        (_ESCAPES, _decode_escapes, "escape"),
        (_CHARCODES, _decode_charcodes, "charcodes"),
    ):
        for m in pattern.finditer(s):
            if len(decoded) >= _MAX_DECODED:
                break
            out = decoder(m.group(0))
            if out:
                kinds.add(kind)
                decoded.append(out.lower())
    for m in _URLENC.finditer(s):
        if len(decoded) >= _MAX_DECODED:
            break
        out = unquote(m.group(0))
        if out != m.group(0) and _looks_like_words(out):
            kinds.add("url")
            decoded.append(out.lower())

    s = s.lower()
    if _ROT13_HINT.search(s):
        decoded.append(_rot13_words(s))
        kinds.add("rot13")
    if _REVERSE_HINT.search(s):
        for m in re.finditer(r"['\"]([^'\"]{8,200})['\"]", s):
            decoded.append(m.group(1)[::-1])
            kinds.add("reversed")

    s = _join_spaced(s, kinds)
    words = []
    last = 0
    for m in _FOLDABLE_WORD.finditer(s):
        word, k = _fold_word(m.group(0))
        if k:
            kinds |= k
            words.append(s[last:m.start()])
            words.append(word)
            last = m.end()
    if words:
        words.append(s[last:])
        s = "".join(words)
    decoded = [_fold_decoded(d) for d in decoded]
    return Normalized(text=s, decoded=decoded, obfuscation=sorted(kinds))


def normalize_many(texts: Sequence[str]) -> list[Normalized]:
    """:func:`normalize` of each text, deciding for a whole batch at once which texts need it.

    An ASCII text in which no step of :func:`normalize` can find anything to undo is only lower-cased.
    That is decided with numpy over the joined batch, from necessary conditions of each step (a run of
    16 base64 characters, 16 hex digits within 23 characters, an escape or percent sign, enough commas
    and digits for character codes, a quote and a plus for concatenation, a rot13 or reversal hint,
    single letters between separators, a leetspeak stand-in between letters or before two). Every other text goes
    through :func:`normalize`, so the result is the same as calling it on each text."""
    suspect = _maybe_disguised([t or "" for t in texts])
    return [normalize(t) if flag else Normalized(text=(t or "").lower())
            for t, flag in zip(texts, suspect, strict=True)]


_CLASSES = {  # character classes of the pre-test, one bit each in a per-byte code
    "b64": "abcdefghijklmnopqrstuvwxyz0123456789+/_-",
    "hex": "0123456789abcdef",
    "word": "abcdefghijklmnopqrstuvwxyz0123456789_",
    "spaced_sep": " \t.-_*|\\/",
    "letter": "abcdefghijklmnopqrstuvwxyz",
    "separated_sep": "\\|*_~.-",
    "leet_after": "0123456789@$|!+",
    "leet_before": "0123456789@$|",
    "escape": "\\&%",
    "digit": "0123456789",
    "comma": ",",
    "quote": "'\"",
    "plus": "+",
}


@cache
def _class_codes() -> np.ndarray:
    import numpy as np

    codes = np.zeros(256, dtype=np.uint16)
    for bit, chars in enumerate(_CLASSES.values()):
        codes[list(chars.encode("ascii"))] |= np.uint16(1 << bit)
    return codes


def _maybe_disguised(texts: list[str]) -> list[bool]:
    """True for each text that :func:`normalize` might change beyond lower-casing."""
    import numpy as np

    suspect = [not t.isascii() for t in texts]
    plain = [i for i, flag in enumerate(suspect) if not flag]
    if not plain:
        return suspect
    batch = JoinedTexts([texts[i] for i in plain], str.lower)  # ASCII: lower-casing keeps the length
    joined = batch.text
    n = len(joined)
    pad = 24  # zero bytes after the batch, so fixed-width windows never run off its end
    data = np.zeros(n + pad, dtype=np.intp)
    data[:n] = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    codes = _class_codes()[data]
    c = {name: (codes & np.uint16(1 << bit)) != 0 for bit, name in enumerate(_CLASSES)}

    def windows_full(mask: np.ndarray, width: int, need: int) -> np.ndarray:
        running = np.concatenate(([0], np.cumsum(mask, dtype=np.int32)))
        return (running[width:width + n] - running[:n]) >= need

    def seq(*masks: np.ndarray) -> np.ndarray:
        hit = masks[0][:n].copy()
        for k, mask in enumerate(masks[1:], 1):
            hit &= mask[k:k + n]
        return hit

    s, w, sp, letter = c["spaced_sep"], c["word"], c["separated_sep"], c["letter"]
    at = (windows_full(c["b64"], 16, 16)  # base64
          | windows_full(c["hex"], 23, 16)  # hex bytes, separated or not
          | c["escape"][:n]  # \x.. \u.... &#..; %..
          | seq(s, w, s, w, s) | seq(s, w, s, s, w, s)  # spaced-out letters
          | seq(letter, sp, letter, sp, letter, sp, letter)  # separated letters
          | seq(letter, c["leet_after"], letter) | seq(c["leet_before"], letter, letter))  # leetspeak
    ends = np.cumsum([len(texts[i]) + 1 for i in plain]) - 1  # position of each text's separator
    flagged = set(np.searchsorted(ends, np.flatnonzero(at), side="right").tolist())

    text_starts = np.array(batch.starts[:-1], dtype=np.intp)  # each segment: a text and its separator (or the pad)

    def per_text(mask: np.ndarray) -> np.ndarray:
        return np.add.reduceat(mask, text_starts, dtype=np.int32)

    flagged.update(np.flatnonzero((per_text(c["comma"]) >= 3) & (per_text(c["digit"]) >= 8)).tolist())  # codes
    flagged.update(np.flatnonzero((per_text(c["quote"]) >= 2) & (per_text(c["plus"]) >= 1)).tolist())  # "a" + "b"
    for hint in ("rot", "caesar", "revers", "backward"):
        flagged |= batch.containing(hint)
    for k in flagged:
        if k < len(plain):
            suspect[plain[k]] = True
    return suspect


def _fold_decoded(text: str) -> str:
    return unicodedata.normalize("NFKC", _INVISIBLE.sub("", text))


__all__ = ["Normalized", "normalize", "normalize_many"]
