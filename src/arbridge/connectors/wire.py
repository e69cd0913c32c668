"""JSON as vendors send and take it: every number with a point is a Decimal, never a float.

And the amounts in it: `amount()` reads one, or says which field is not one.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from arbridge.connectors.base import MalformedRecord


class Unreadable(ValueError):
    """A field of a vendor's record that cannot be read; the message names it."""


def amount(value: Any, name: str) -> Decimal:
    """Return a finite decimal amount; Unreadable naming the field otherwise."""
    try:
        read = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise Unreadable(f"{name} is not an amount: {value!r}") from None
    if not read.is_finite():
        raise Unreadable(f"{name} is not an amount: {value!r}")
    return read


_MARKED = re.compile(r'"\\u0000(-?[0-9.]+)\\u0000"')


def parse(data: bytes | str) -> Any:
    """Parse JSON, reading every number with a point as a Decimal."""
    return json.loads(data, parse_float=Decimal)


def loads(data: bytes | str, vendor: str) -> Any:
    """Parse a vendor's answer; MalformedRecord if it is not JSON."""
    try:
        return parse(data)
    except ValueError:
        raise MalformedRecord(
            f"{vendor} answered with something that is not JSON", raw=data
        ) from None


def dumps(body: Any) -> str:
    """Return JSON with Decimals written as JSON numbers, digit for digit."""
    # json.dumps quotes whatever `default` returns; the NUL-fenced digits come
    # back out of their quotes here. Nothing else arbridge sends holds a NUL.
    text = json.dumps(body, default=_mark, separators=(",", ":"))
    return _MARKED.sub(r"\1", text)


def _mark(value: Any) -> str:
    if isinstance(value, Decimal) and value.is_finite():
        return f"\0{value:f}\0"
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
