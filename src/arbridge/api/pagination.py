"""Cursor pagination: newest first, each page continuing below the last id seen.

The cursor is opaque to clients (base64 of the last id), so it can change
shape later. Ordering by -id with `id < last` makes every page, however deep,
an index seek rather than an OFFSET scan.

A list worked out in Python rather than read from a table (the charges coming
up, soonest first; the aging per customer, largest first) pages the same way
with `paginate_sorted`: its cursor holds the sort key of the last row, so a page
continues after it, never at an offset that rows paid meanwhile would shift.
"""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from annotated_types import Interval
from django.db.models import QuerySet
from ninja import Query, Schema
from pydantic import Field

from arbridge.api.errors import ApiError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_ID = 2**63 - 1

T = TypeVar("T")

# Row ids as the database can hold them: a larger one would be a database error, not a 404.
Id = Annotated[int, Interval(ge=1, le=MAX_ID)]


class Page(Schema, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class PageParams(Schema):
    # Query parameters default to None without admitting null, so that the OpenAPI
    # document gives them plain types rather than "string or null".
    cursor: str = Field(None, max_length=64, description="The `next_cursor` of the previous page.")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


PageQuery = Query[PageParams]


def opaque(raw: str) -> str:
    """Wrap a cursor's contents so clients do not build them: base64, unpadded."""
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def unwrap(cursor: str) -> str:
    """Return what `opaque` wrapped; ValueError (or a subclass) if it is not base64 text."""
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")


def encode_cursor(last_id: int) -> str:
    return opaque(str(last_id))


def decode_cursor(cursor: str) -> int:
    """Return the id a cursor continues below; ApiError 400 if it is not one of ours."""
    try:
        raw = unwrap(cursor)
    except (binascii.Error, UnicodeError, ValueError):
        raw = ""
    if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise ApiError(400, "invalid_cursor", "The cursor is not one this API returned.")
    return int(raw)


def paginate(queryset: QuerySet, page: PageParams) -> dict[str, Any]:
    """Return one page of the queryset, newest first, and the cursor to the next."""
    queryset = queryset.order_by("-id")
    if page.cursor is not None:
        queryset = queryset.filter(id__lt=decode_cursor(page.cursor))
    # One row more than asked says whether there is a next page, without a COUNT.
    rows = list(queryset[: page.limit + 1])
    items, more = rows[: page.limit], len(rows) > page.limit
    return {"items": items, "next_cursor": encode_cursor(items[-1].id) if more else None}


def encode_position(position: tuple) -> str:
    return opaque(json.dumps([str(part) for part in position], separators=(",", ":")))


def decode_position(cursor: str, types: Sequence[Callable[[str], Any]]) -> tuple:
    """Return the sort key a cursor continues after; ApiError 400 if it is not one of ours."""
    try:
        raw = unwrap(cursor)
        parts = json.loads(raw)
        if not isinstance(parts, list) or len(parts) != len(types):
            raise ValueError(raw)
        return tuple(read(part) for read, part in zip(types, parts, strict=True))
    except (binascii.Error, UnicodeError, ArithmeticError, TypeError, ValueError):
        raise ApiError(400, "invalid_cursor", "The cursor is not one this API returned.") from None


def paginate_sorted(
    rows: Sequence[T],
    page: PageParams,
    position: Callable[[T], tuple],
    types: Sequence[Callable[[str], Any]],
) -> tuple[list[T], str | None]:
    """Return one page of rows sorted by `position`, and the cursor to the next.

    `types` read each part of a position back from the cursor (int, Decimal,
    dt.date.fromisoformat...), so that it compares as the rows' positions do.
    """
    if page.cursor is not None:
        after = decode_position(page.cursor, types)
        rows = [row for row in rows if position(row) > after]
    items, more = list(rows[: page.limit]), len(rows) > page.limit
    return items, encode_position(position(items[-1])) if more else None
