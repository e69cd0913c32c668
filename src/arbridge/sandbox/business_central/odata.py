"""OData as Business Central's API pages answer it: $filter, $skiptoken, server-driven pages.

# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/use-filtering-in-web-services
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/odata-client-performance

A filter is clauses `field op value` (eq, ne, gt, ge, lt, le) joined by
"and"; a value is a quoted string, a datetime literal, a number or a
boolean. Records are kept in order of a sequence number; a page's skip token
is the last number it held, so a page read again neither skips nor repeats
what was there. `Prefer: odata.maxpagesize=N` asks for pages of N (at most
20,000, Business Central's own page size).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request

from arbridge.sandbox.business_central.store import Invalid

MAX_PAGE = 20_000
CLAUSE = re.compile(r"^\s*(\w+)\s+(eq|ne|gt|ge|lt|le)\s+('(?:[^']|'')*'|\S+)\s*$")


def page(request: Request, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str, int]:
    """Return a list request's page of rows, its nextLink ("" on the last) and page size."""
    args = request.args
    clauses = parse_filter(args.get("$filter", ""))
    rows = [row for row in rows if all(matches(row, *clause) for clause in clauses)]
    if token := args.get("$skiptoken"):
        try:
            after = int(token)
        except ValueError:
            raise Invalid("The skip token is not valid") from None
        rows = [row for row in rows if row.get("_seq", 0) > after]
    size = MAX_PAGE
    if match := re.search(r"odata\.maxpagesize=(\d+)", request.headers.get("Prefer", "")):
        size = max(1, min(MAX_PAGE, int(match[1])))
    if top := args.get("$top"):
        rows = rows[: int(top)]
    chunk = rows[:size]
    if len(rows) <= size:
        return chunk, "", size
    query = {k: v for k, v in args.items() if k != "$skiptoken"}
    query["$skiptoken"] = str(chunk[-1]["_seq"])
    return chunk, f"{request.base_url}?{urlencode(query, safe='$,()')}", size


def parse_filter(text: str) -> list[tuple[str, str, Any]]:
    """Return a $filter's clauses: (field, operator, value); Invalid if one is not understood."""
    if not text.strip():
        return []
    clauses = []
    for part in re.split(r"\s+and\s+", text.strip()):
        match = CLAUSE.match(part)
        if match is None:
            raise Invalid(f"The filter clause is not understood: {part}")
        field, op, raw = match.groups()
        if raw.startswith("'"):
            value: Any = raw[1:-1].replace("''", "'")
        elif re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z?", raw):
            value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.UTC)
        elif re.fullmatch(r"-?\d+(\.\d+)?", raw):
            value = Decimal(raw)
        elif raw in ("true", "false"):
            value = raw == "true"
        else:
            raise Invalid(f"The filter value is not understood: {raw}")
        clauses.append((field, op, value))
    return clauses


def matches(row: dict[str, Any], field: str, op: str, value: Any) -> bool:
    have = row.get(field)
    if isinstance(value, dt.datetime):
        if not have:
            return False
        have = dt.datetime.fromisoformat(str(have).replace("Z", "+00:00"))
    elif isinstance(value, Decimal):
        have = Decimal(str(have or 0))
    elif isinstance(value, str):
        have = "" if have is None else str(have)
    try:
        return {
            "eq": have == value,
            "ne": have != value,
            "gt": have > value,
            "ge": have >= value,
            "lt": have < value,
            "le": have <= value,
        }[op]
    except TypeError:
        return False
