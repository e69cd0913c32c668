"""The readByQuery query language, as much of it as arbridge and the tests use.

# Reference: https://developer.intacct.com/web-services/queries/#readbyquery-query-syntax

Conditions `FIELD OP VALUE` joined by AND: OP one of = != <> < <= > >= IN,
VALUE a quoted string, a number or a parenthesised list of them. Timestamps
(MM/DD/YYYY HH:MM:SS) and dates (MM/DD/YYYY) compare as moments, numbers as
numbers, anything else as text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

CONDITION = re.compile(
    r"\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(<=|>=|<>|!=|=|<|>|\bIN\b)\s*"
    r"(\((?:[^()']|'(?:[^']|'')*')*\)|'(?:[^']|'')*'|-?\d+(?:\.\d+)?)\s*",
    re.IGNORECASE,
)
AND = re.compile(r"\s+AND\s+", re.IGNORECASE)
ITEM = re.compile(r"'((?:[^']|'')*)'|(-?\d+(?:\.\d+)?)")


class QueryError(ValueError):
    pass


def split(query: str) -> list[str]:
    """Split on AND outside quotes and parentheses."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(query):
        ch = query[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0:
            match = AND.match(query, i)
            if match and (i == 0 or query[i].isspace()):
                parts.append(query[start:i])
                start = i = match.end()
                continue
        i += 1
    parts.append(query[start:])
    return [part for part in parts if part.strip()]


def comparable(value: Any) -> Any:
    text = str(value)
    for pattern in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y"):
        try:
            return dt.datetime.strptime(text, pattern)
        except ValueError:
            pass
    try:
        return Decimal(text)
    except InvalidOperation:
        return text


def literal(raw: str) -> Any:
    match = ITEM.fullmatch(raw.strip())
    if not match:
        raise QueryError(f"cannot read the value {raw}")
    return match.group(1).replace("''", "'") if match.group(1) is not None else match.group(2)


def compile(query: str, getter: Callable[[dict[str, Any], str], Any]) -> Callable[[dict], bool]:
    """Return a test of a record for the query (empty: every record)."""
    tests = []
    for part in split(query or ""):
        match = CONDITION.fullmatch(part)
        if not match:
            raise QueryError(f"cannot read the condition {part.strip()!r}")
        name, op, raw = match.group(1), match.group(2).upper(), match.group(3)
        if op == "IN":
            values = {str(literal(item.group(0))) for item in ITEM.finditer(raw[1:-1])}
            tests.append(lambda r, n=name, v=values: str(getter(r, n)) in v)
            continue
        value = comparable(literal(raw))
        tests.append(lambda r, n=name, o=op, v=value: compare(getter(r, n), o, v))
    return lambda record: all(test(record) for test in tests)


def compare(found: Any, op: str, value: Any) -> bool:
    left = comparable(found if found is not None else "")
    if type(left) is not type(value):
        left, value = str(found or ""), str(value)
    if op == "=":
        return left == value
    if op in ("!=", "<>"):
        return left != value
    if left == "" and op in ("<", "<=", ">", ">="):
        return False
    return {"<": left < value, "<=": left <= value, ">": left > value, ">=": left >= value}[op]
