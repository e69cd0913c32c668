"""The Halo API's JSON on the wire: amounts as numbers, times without a zone, errors.

Halo writes amounts as JSON numbers (the spec's `number`/`double`). The
sandbox keeps them as Decimal from request to response, never as float:
`loads` reads every number with a point as a Decimal and `dumps` writes a
Decimal back as a bare number.

Halo writes date-times in UTC without an offset ("2025-03-01T14:05:09.123");
query filters take the same form, and the sandbox also accepts a trailing Z
or an offset.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

# The JSON codec is shared by every sandbox; the rest of this wire format imports it from here.
from arbridge.sandbox.common.wire import dumps as dumps
from arbridge.sandbox.common.wire import loads as loads

CENT = Decimal("0.01")


class ApiError(Exception):
    """A refusal the API answers with a status and a plain-text message, as Halo does."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def not_found(entity: str, id: Any) -> ApiError:
    return ApiError(404, f"{entity} {id} not found")


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def money(value: Any, field: str) -> Decimal:
    """Return an amount from a request as a Decimal rounded to the cent."""
    return number(value, field).quantize(CENT)


def number(value: Any, field: str) -> Decimal:
    """Return a number from a request as a Decimal; ApiError if it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise bad_request(f"{field} must be a number, not {value!r}")
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise bad_request(f"{field} must be a number, not {value!r}") from None
    if not result.is_finite():
        raise bad_request(f"{field} must be a finite number")
    return result


def timestamp(moment: dt.datetime) -> str:
    """Return a time as Halo writes it: UTC, milliseconds, no offset."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")


def parse_time(text: str, field: str) -> dt.datetime:
    """Return an aware UTC datetime from an ISO date or date-time (UTC if it has no zone)."""
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"{field} is not a date: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def flag(value: str | None, default: bool = False) -> bool:
    """Return a query-string boolean ("true"/"false", any case)."""
    if value is None or value == "":
        return default
    return value.strip().lower() in ("true", "1", "yes")
