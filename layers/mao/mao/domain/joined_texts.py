"""Many texts joined into one string, so that a substring is found in all of them by one C-level scan.

Batch pre-tests (which texts can a pattern match at all?) search a needle once in the joined batch
instead of once per text. Texts are joined with a NUL character, which no needle contains, so no
needle is found across two texts. After a hit the search jumps to the next text: each text holding a
needle costs one ``find``, however often it holds it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate

SEP = "\x00"


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


__all__ = ["SEP", "JoinedTexts"]
