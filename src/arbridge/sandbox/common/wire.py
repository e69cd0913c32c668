"""JSON with amounts as exact numbers, as every vendor's API writes them.

The vendors write amounts as JSON numbers. The sandboxes keep them as Decimal
from the request body to the response, never as float, so `dumps` writes a
Decimal as a bare number and `loads` reads every number with a point as one.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

_MARK = "\0"


def _mark(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{_MARK}{value}{_MARK}"
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(obj: Any, *, ensure_ascii: bool = False) -> str:
    """Return compact JSON with Decimals written as numbers."""
    # The C encoder quotes whatever `default` returns, so Decimals go out as
    # NUL-fenced strings and come back out of their quotes here. Request
    # bodies are refused if they hold a NUL (see `loads`), so only Decimals have one.
    text = json.dumps(obj, default=_mark, separators=(",", ":"), ensure_ascii=ensure_ascii)
    if "\\u0000" not in text:
        return text
    return text.replace('"\\u0000', "").replace('\\u0000"', "")


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def loads(data: str | bytes) -> Any:
    """Parse JSON with every non-integer number as a Decimal."""
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    if "\0" in data or "\\u0000" in data:
        raise ValueError("NUL characters are not allowed")
    return json.loads(data, parse_float=Decimal, parse_constant=_refuse_constant)
