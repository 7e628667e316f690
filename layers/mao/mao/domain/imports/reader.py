"""Stream the records of an import file from its bytes, chunk by chunk, never holding the file whole.

Three containers:

* ``jsonl``: one JSON value per line (blank lines are skipped);
* ``array``: one top-level JSON array, each element a record;
* ``document``: the whole file is one record (a single JSON object, bounded in size).

Every record carries its 1-based line number and the byte offset just after it (``end``): reading
can resume from ``end`` at line ``next_line`` without re-reading anything before, which is how an
interrupted import continues from its checkpoint. A record that is not valid JSON is yielded with
an ``error`` and reading goes on with the next one; a file whose structure breaks (an array that
never closes, a stray character between elements) raises :class:`FileStructureError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

try:  # orjson parses several times faster than the standard library; optional
    from orjson import JSONDecodeError as _OrjsonError
    from orjson import loads as _loads

    _DECODE_ERRORS: tuple[type[Exception], ...] = (_OrjsonError, ValueError, TypeError)
except ImportError:  # pragma: no cover - exercised where orjson is not installed
    _loads = json.loads
    _DECODE_ERRORS = (ValueError, TypeError)

CONTAINERS = ("jsonl", "array", "document")
MAX_RECORD_BYTES = 16 * 1024 * 1024
MAX_DOCUMENT_BYTES = 32 * 1024 * 1024
_WS = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"
_STRUCTURAL = re.compile(rb'["\[\]{}]')
_STRING_STOP = re.compile(rb'["\\]')
_SCALAR_END = re.compile(rb"[,\]\s]")


class FileStructureError(ValueError):
    """The file's structure is broken at ``line``; nothing after it can be read."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.reason = message
        self.line = line


@dataclass(slots=True)
class RawRecord:
    line: int  # 1-based line where the record starts
    end: int  # byte offset just after the record: where reading resumes
    next_line: int  # line number at ``end``
    data: Any = None
    error: str | None = None
    size: int = 0


def parse_json(raw: bytes) -> Any:
    return _loads(raw)


def _decode(raw: bytes) -> tuple[Any, str | None]:
    try:
        return _loads(raw), None
    except _DECODE_ERRORS as exc:
        return None, f"invalid JSON: {str(exc).splitlines()[0][:200]}"


class _Buffer:
    """Bytes from an iterator of chunks, with the absolute offset of the buffer's first byte."""

    def __init__(self, chunks: Iterable[bytes], offset: int) -> None:
        self._chunks = iter(chunks)
        self.data = b""
        self.base = offset
        self.eof = False

    def more(self) -> bool:
        for chunk in self._chunks:
            if chunk:
                self.data = self.data + chunk if self.data else bytes(chunk)
                return True
        self.eof = True
        return False

    def drop(self, n: int) -> None:
        self.data = self.data[n:]
        self.base += n


def iter_jsonl(chunks: Iterable[bytes], offset: int = 0, line: int = 1,
               max_record_bytes: int = MAX_RECORD_BYTES) -> Iterator[RawRecord]:
    buf = _Buffer(chunks, offset)
    pos = 0  # scan position in buf.data
    too_long = False
    while True:
        nl = buf.data.find(b"\n", pos)
        if nl < 0:
            if len(buf.data) > max_record_bytes:  # drop the overlong line's bytes as they arrive
                too_long = True
                buf.drop(len(buf.data))
                pos = 0
            else:
                pos = len(buf.data)
            if buf.more():
                continue
            nl = len(buf.data)
            if nl == 0 and not too_long:
                return
        raw = buf.data[:nl]
        end = buf.base + min(nl + 1, len(buf.data))
        if too_long:
            yield RawRecord(line, end, line + 1, error=f"line longer than {max_record_bytes} bytes")
        elif raw.strip(_WS):
            data, error = _decode(raw)
            yield RawRecord(line, end, line + 1, data, error, len(raw))
        buf.drop(nl + 1)
        pos = 0
        too_long = False
        line += 1
        if buf.eof and not buf.data:
            return


def _value_end(data: bytes, start: int) -> int | None:
    """Index just after the JSON value starting at ``data[start]``, or None when ``data`` ends first.
    Only the structure is followed (brackets outside strings); the value is parsed afterwards."""
    first = data[start:start + 1]
    if first == b'"':
        i = start + 1
        while True:
            m = _STRING_STOP.search(data, i)
            if m is None:
                return None
            if m.group() == b"\\":
                i = m.end() + 1
                continue
            return m.end()
    if first not in (b"{", b"["):
        m = _SCALAR_END.search(data, start)
        return m.start() if m else None
    depth = 0
    i = start
    while True:
        m = _STRUCTURAL.search(data, i)
        if m is None:
            return None
        ch = m.group()
        if ch == b'"':
            j = m.end()
            while True:
                s = _STRING_STOP.search(data, j)
                if s is None:
                    return None
                if s.group() == b"\\":
                    j = s.end() + 1
                    continue
                i = s.end()
                break
            continue
        depth += 1 if ch in (b"{", b"[") else -1
        i = m.end()
        if depth == 0:
            return i


def _skip_ws(buf: _Buffer, pos: int) -> int:
    while True:
        n = len(buf.data)
        while pos < n and buf.data[pos] in _WS:
            pos += 1
        if pos < n or not buf.more():
            return pos


def iter_array(chunks: Iterable[bytes], offset: int = 0, line: int = 1, *, resume: bool = False,
               max_record_bytes: int = MAX_RECORD_BYTES) -> Iterator[RawRecord]:
    """Elements of a top-level JSON array. ``resume`` means ``offset`` is just after an element."""
    buf = _Buffer(chunks, offset)
    pos = 0

    def advance(to: int) -> None:
        nonlocal pos, line
        line += buf.data.count(b"\n", pos, to)
        pos = to

    if not resume:
        buf.more()
        if buf.data.startswith(_BOM):
            pos = len(_BOM)
        start = _skip_ws(buf, pos)
        advance(start)
        if buf.data[pos:pos + 1] != b"[":
            raise FileStructureError("expected a JSON array", line)
        advance(pos + 1)
        expect_element = True
    else:
        expect_element = False
    first = not resume
    while True:
        advance(_skip_ws(buf, pos))
        ch = buf.data[pos:pos + 1]
        if not ch:
            raise FileStructureError("the JSON array is not closed", line)
        if ch == b"]":
            if expect_element and not first:
                raise FileStructureError("a comma before ']'", line)
            advance(_skip_ws(buf, pos + 1))
            if buf.data[pos:pos + 1]:
                raise FileStructureError("content after the end of the JSON array", line)
            return
        if not expect_element:
            if ch != b",":
                raise FileStructureError(f"expected ',' or ']' between elements, found {ch.decode(errors='replace')!r}",
                                         line)
            advance(pos + 1)
            expect_element = True
            continue
        end = _value_end(buf.data, pos)
        while end is None or (end == len(buf.data) and not buf.eof):
            if end is None and buf.eof:
                raise FileStructureError("the file ends inside an element", line)
            if len(buf.data) - pos > max_record_bytes:
                raise FileStructureError(f"an element larger than {max_record_bytes} bytes", line)
            buf.more()
            end = _value_end(buf.data, pos)
        start_line = line
        data, error = _decode(buf.data[pos:end])
        size = end - pos
        advance(end)
        yield RawRecord(start_line, buf.base + end, line, data, error, size)
        buf.drop(pos)
        pos = 0
        expect_element = False
        first = False


def read_document(chunks: Iterable[bytes], max_bytes: int = MAX_DOCUMENT_BYTES) -> RawRecord:
    """The whole file as one record (bounded: larger single documents must be sent as JSONL)."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            return RawRecord(1, 0, 1, error=f"a single JSON document larger than {max_bytes} bytes; "
                             "send one record per line (JSONL) or a JSON array")
        parts.append(chunk)
    raw = b"".join(parts)
    lines = raw.count(b"\n")
    data, error = _decode(raw.removeprefix(_BOM))
    return RawRecord(1, size, lines + 1, data, error, size)


def iter_records(container: str, chunks: Iterable[bytes], offset: int = 0, line: int = 1) -> Iterator[RawRecord]:
    """Records of a file in ``container`` format, from ``offset`` (a previous record's ``end``)."""
    if container == "jsonl":
        yield from iter_jsonl(chunks, offset, line)
    elif container == "array":
        yield from iter_array(chunks, offset, line, resume=offset > 0)
    elif container == "document":
        if offset == 0:
            yield read_document(chunks)
    else:
        raise ValueError(f"unknown container {container!r}")
