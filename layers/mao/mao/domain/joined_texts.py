"""Many texts joined into one string, so that a substring is found in all of them by one C-level scan.

Batch pre-tests (which texts can a pattern match at all?) search a needle once in the joined batch
instead of once per text. Texts are joined with a NUL character, which no needle contains, so no
needle is found across two texts. After a hit the search jumps to the next text: each text holding a
needle costs one ``find``, however often it holds it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence, Set
from itertools import accumulate

SEP = "\x00"

Needs = tuple[tuple[str, ...], ...]
"""The words a pattern needs: for each group, one of its words is part of every match (an AND of ORs).

A text that does not hold them cannot match the pattern, so the pattern need not run on it. The words are
in the case the texts are compared in (lower case for case-insensitive patterns), and a pattern's rarest
group comes first (batch look-ups start with it)."""


def meets(needs: Needs, present: Set[str]) -> bool:
    """Whether a text that holds the words ``present`` (of those in ``needs``) holds a word of every group."""
    return all(not present.isdisjoint(group) for group in needs)


class JoinedTexts:
    """``texts`` joined by :data:`SEP`, optionally transformed (the transform must keep the length)."""

    __slots__ = ("starts", "text")

    def __init__(self, texts: Sequence[str], transform: Callable[[str], str] | None = None) -> None:
        joined = SEP.join(texts)
        self.text = transform(joined) if transform is not None else joined
        if len(self.text) != len(joined):
            raise ValueError("the transform of joined texts must keep their length")
        self.starts = list(accumulate((len(t) + 1 for t in texts), initial=0))  # and one past the last

    def owner(self, position: int) -> int:
        """Index of the text that holds ``position`` of the joined string."""
        return bisect_right(self.starts, position) - 1

    def containing(self, needle: str) -> set[int]:
        """Indices of the texts that hold ``needle`` (in the transformed string)."""
        found: set[int] = set()
        text, starts = self.text, self.starts
        at = text.find(needle)
        while at >= 0:
            k = bisect_right(starts, at) - 1
            found.add(k)
            at = text.find(needle, starts[k + 1])  # the rest of this text is known to hold it
        return found


class NeedIndex:
    """Which texts of a joined batch meet a pattern's needs, with each word looked up once per batch.

    A word is searched in the whole batch only when it occurs in the batch's vocabulary (its distinct
    whitespace-separated tokens, few next to the text), so the many needed words that occur nowhere cost
    one search in a short string; the later groups of a pattern's needs are tested only in the texts that
    hold its first."""

    __slots__ = ("_found", "_texts", "_vocabulary", "joined")

    def __init__(self, joined: JoinedTexts) -> None:
        self.joined = joined
        self._vocabulary = SEP.join(set(joined.text.split()))
        self._found: dict[str, set[int]] = {}
        self._texts: dict[int, str] = {}

    def holding(self, word: str) -> set[int]:
        """Indices of the texts that hold ``word``."""
        found = self._found.get(word)
        if found is None:
            # A word without whitespace occurs in the batch only inside one of its tokens.
            absent = word.split() == [word] and word not in self._vocabulary
            found = self._found[word] = set() if absent else self.joined.containing(word)
        return found

    def text(self, k: int) -> str:
        """Text ``k`` as searched (transformed)."""
        text = self._texts.get(k)
        if text is None:
            starts = self.joined.starts
            text = self._texts[k] = self.joined.text[starts[k]:starts[k + 1] - 1]
        return text

    def meeting(self, needs: Needs) -> Iterable[int]:
        """Indices of the texts that meet ``needs`` (all texts when there are none)."""
        if not needs:
            return range(len(self.joined.starts) - 1)
        first, *rest = needs
        return [k for k in set().union(*map(self.holding, first))
                if all(any(w in self.text(k) for w in group) for group in rest)]


__all__ = ["SEP", "JoinedTexts", "NeedIndex", "Needs", "meets"]
