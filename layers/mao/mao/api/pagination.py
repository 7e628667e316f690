"""Pagination as the reference has it (``page``, ``page_size``), plus an opaque cursor for cheap deep
paging. Works on any PynamoDB query/scan factory.

Response shape for every list endpoint:
``{"items": [...], "page", "page_size", "total", "has_more", "next_cursor"}``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Query

from mao.api.errors import ApiError

T = TypeVar("T")
MAX_PAGE_SIZE = 200


@dataclass(frozen=True, slots=True)
class PageParams:
    page: int
    page_size: int
    cursor: str | None


def page_params(page: int = Query(1, ge=1, le=100_000, description="1-based page number"),
                page_size: int = Query(20, ge=1, le=MAX_PAGE_SIZE),
                cursor: str | None = Query(None, max_length=2048,
                                           description="opaque cursor from a previous page's next_cursor")
                ) -> PageParams:
    return PageParams(page, page_size, cursor)


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except Exception:
        raise ApiError(400, "bad_cursor", "cursor is not valid; use next_cursor from a previous page") from None
    if not isinstance(value, dict):
        raise ApiError(400, "bad_cursor", "cursor is not valid; use next_cursor from a previous page")
    return value


# A query factory takes (limit, last_evaluated_key) and returns a PynamoDB ResultIterator
# (which has ``last_evaluated_key`` once consumed).
QueryFactory = Callable[[int | None, dict[str, Any] | None], Any]


def paginate(query: QueryFactory, params: PageParams, view: Callable[[Any], dict[str, Any]], *,
             key_attributes: tuple[str, ...], count: Callable[[], int] | None = None) -> dict[str, Any]:
    """One page of results. With a cursor the query resumes where the last page ended; without one,
    ``page`` is honoured by skipping ``(page - 1) * page_size`` items.

    ``key_attributes`` are the model attributes that make up the table key and, when querying an
    index, the index key: a cursor is built from them.
    """
    size = params.page_size
    items: list[Any] = []
    if params.cursor:
        start: dict[str, Any] | None = decode_cursor(params.cursor)
        skip = 0
    else:
        start, skip = None, (params.page - 1) * size
    iterator: Iterator[Any] = iter(query(None, start))
    for item in iterator:
        if skip:
            skip -= 1
            continue
        items.append(item)
        if len(items) == size:
            break
    has_more = len(items) == size and next(iterator, None) is not None
    next_cursor = encode_cursor(_key_of(items[-1], key_attributes)) if has_more else None
    total = count() if count is not None else None
    return {"items": [view(i) for i in items], "page": params.page, "page_size": size, "total": total,
            "has_more": has_more, "next_cursor": next_cursor}


def _key_of(item: Any, key_attributes: tuple[str, ...]) -> dict[str, Any]:
    """The exclusive start key that resumes right after ``item``."""
    attrs = type(item).get_attributes()
    key: dict[str, Any] = {}
    for name in key_attributes:
        attr = attrs[name]
        key[attr.attr_name] = {attr.attr_type: attr.serialize(getattr(item, name))}
    return key
