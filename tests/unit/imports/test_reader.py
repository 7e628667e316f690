"""Streaming record readers: chunk boundaries, bad records, resuming from a record's end."""

from __future__ import annotations

import json

import pytest

from mao.domain.imports.reader import FileStructureError, iter_array, iter_jsonl, iter_records, read_document


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


JSONL = b'{"a": 1}\n\n{bad\n{"b": "x\\ny"}\n{"c": [1, 2]}'


@pytest.mark.parametrize("size", [1, 3, 7, 1000])
def test_jsonl_records_keep_their_lines_whatever_the_chunk_size(size: int) -> None:
    records = list(iter_jsonl(chunked(JSONL, size)))
    assert [r.line for r in records] == [1, 3, 4, 5]
    assert [r.data for r in records] == [{"a": 1}, None, {"b": "x\ny"}, {"c": [1, 2]}]
    assert records[1].error.startswith("invalid JSON")
    assert records[-1].end == len(JSONL)


def test_jsonl_resumes_from_any_record_end_with_the_same_records() -> None:
    full = list(iter_jsonl([JSONL]))
    for i, rec in enumerate(full):
        rest = list(iter_jsonl(chunked(JSONL[rec.end:], 4), rec.end, rec.next_line))
        assert [(r.line, r.data, r.end) for r in rest] == [(r.line, r.data, r.end) for r in full[i + 1:]]


def test_an_overlong_line_is_one_error_and_the_next_line_still_reads() -> None:
    data = b'{"x": "' + b"y" * 100 + b'"}\n{"ok": true}\n'
    records = list(iter_jsonl(chunked(data, 8), max_record_bytes=50))
    assert records[0].error.startswith("line longer than") and records[0].line == 1
    assert records[1].data == {"ok": True} and records[1].line == 2


ARRAY = json.dumps([{"a": "x]}\"y"}, 2, "s", [1, [2]], {"n": None}], indent=2).encode()


@pytest.mark.parametrize("size", [1, 5, 64, 10_000])
def test_array_elements_stream_with_their_start_lines(size: int) -> None:
    records = list(iter_array(chunked(ARRAY, size)))
    assert [r.data for r in records] == [{"a": "x]}\"y"}, 2, "s", [1, [2]], {"n": None}]
    text = ARRAY.decode()
    for rec in records:  # each element's first line holds the start of that element
        assert text.count("\n", 0, rec.end) + 1 >= rec.line
    assert records[0].line == 2


def test_array_resumes_after_an_element() -> None:
    full = list(iter_array([ARRAY]))
    second = full[1]
    rest = list(iter_array(chunked(ARRAY[second.end:], 3), second.end, second.next_line, resume=True))
    assert [r.data for r in rest] == [r.data for r in full[2:]]
    assert [r.line for r in rest] == [r.line for r in full[2:]]


def test_a_bad_element_is_reported_and_the_rest_reads() -> None:
    records = list(iter_array([b'[{"a": 1}, {"b": tru}, {"c": 3}]']))
    assert [r.data for r in records] == [{"a": 1}, None, {"c": 3}]
    assert records[1].error.startswith("invalid JSON")


@pytest.mark.parametrize(("data", "reason"), [
    (b'[{"a": 1}, {"b": 2}', "not closed"),
    (b'[{"a": 1} {"b": 2}]', "expected ','"),
    (b'[{"a": 1}] x', "after the end"),
    (b'{"a": 1}', "expected a JSON array"),
])
def test_broken_array_structure_stops_with_the_line(data: bytes, reason: str) -> None:
    with pytest.raises(FileStructureError, match=reason):
        list(iter_array([data]))


def test_a_document_is_one_record_and_has_a_size_bound() -> None:
    doc = read_document([b'{\n  "a": 1\n}\n'])
    assert doc.data == {"a": 1} and doc.line == 1
    assert "larger than" in read_document([b"{" + b" " * 100 + b"}"], max_bytes=50).error
    assert list(iter_records("document", [b"{}"], offset=5)) == []
