"""The QuickBooks Online JSON wire format: amounts, timestamps and faults.

QuickBooks writes amounts as JSON numbers. The sandbox keeps them as Decimal
from the request body to the response, never as float, so `dumps` writes a
Decimal as a bare number and `loads` reads every number with a point as one.

Errors come in two shapes. The accounting service answers with the XSD's
Fault (`{"Fault": {"Error": [{"Message", "Detail", "code"}], "type"}}`);
Intuit's gateway, which authenticates and throttles before the service sees a
request, answers in its own lower-case shape (`{"fault": {"error": [...]}}`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

# The JSON codec is shared by every sandbox; the rest of this wire format imports it from here.
from arbridge.sandbox.common.wire import dumps as dumps
from arbridge.sandbox.common.wire import loads as loads

# QuickBooks reports times in the company's zone; sandbox companies are in California.
COMPANY_TZ = ZoneInfo("America/Los_Angeles")

CENT = Decimal("0.01")


def money(value: Any, field: str) -> Decimal:
    """Return an amount from a request as a Decimal rounded to the cent."""
    return decimal(value, field).quantize(CENT)


def decimal(value: Any, field: str) -> Decimal:
    """Return a number from a request as a Decimal."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise invalid(field, value)
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise invalid(field, value) from None
    if not number.is_finite():
        raise invalid(field, value)
    return number


# -- timestamps ---------------------------------------------------------------


def timestamp(seconds: float, *, fraction: bool = False) -> str:
    """Return an epoch time as QuickBooks writes it: ISO 8601 in the company's zone."""
    moment = dt.datetime.fromtimestamp(seconds, COMPANY_TZ)
    return moment.isoformat(timespec="milliseconds" if fraction else "seconds")


def utc_timestamp(seconds: float) -> str:
    """Return an epoch time as webhooks write it: ISO 8601 in UTC with a Z."""
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(text: str) -> float:
    """Return the epoch time of an ISO 8601 date or datetime (company time if no zone)."""
    moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=COMPANY_TZ)
    return moment.timestamp()


def company_date(seconds: float) -> dt.date:
    """Return the company's calendar date at an epoch time."""
    return dt.datetime.fromtimestamp(seconds, COMPANY_TZ).date()


# -- faults -------------------------------------------------------------------


class Fault(Exception):
    """An error the accounting service reports in the XSD's Fault shape."""

    def __init__(
        self,
        code: str,
        message: str,
        detail: str = "",
        *,
        type: str = "ValidationFault",
        status: int = 400,
        element: str | None = None,
    ):
        super().__init__(f"{code} {message}: {detail}")
        self.code = code
        self.message = message
        self.detail = detail
        self.type = type
        self.status = status
        self.element = element

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"Message": self.message, "Detail": self.detail, "code": self.code}
        if self.element:
            error["element"] = self.element
        return {"Fault": {"Error": [error], "type": self.type}}


class GatewayFault(Fault):
    """An error Intuit's gateway reports before the service sees the request."""

    def body(self) -> dict[str, Any]:
        error = {"message": self.message, "detail": self.detail, "code": self.code, "element": None}
        return {"fault": {"error": [error], "type": self.type}}


def required(field: str) -> Fault:
    return Fault(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {field} is missing in the request",
        element=field,
    )


def invalid(field: str, value: Any) -> Fault:
    return Fault(
        "2010",
        "Request has invalid or unsupported property",
        f"Property Name:{field} has an invalid value: {value!r}",
        element=field,
    )


def unsupported(field: str) -> Fault:
    return Fault(
        "2010",
        "Request has invalid or unsupported property",
        f'Property Name:Unrecognized field "{field}"',
        element=field,
    )


def not_found(entity: str, id: Any) -> Fault:
    return Fault(
        "610",
        "Object Not Found",
        f"Object Not Found : Something you're trying to use has been made inactive or "
        f"deleted: {entity} {id}",
    )


def invalid_reference(entity: str, id: Any, field: str) -> Fault:
    return Fault(
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {entity} with Id {id} does not exist or is inactive",
        element=field,
    )


def business(detail: str) -> Fault:
    return Fault(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
    )


def stale(entity: str, id: Any) -> Fault:
    return Fault(
        "5010",
        "Stale Object Error",
        f"Stale Object Error : You and another user were working on the same {entity} "
        f"(Id {id}) at the same time. They finished before you did, so your work was not saved.",
    )


def duplicate_name(name: str, id: int) -> Fault:
    return Fault(
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Id={id} Name={name}",
    )


def unauthenticated(detail: str) -> GatewayFault:
    return GatewayFault(
        "3200",
        "message=AuthenticationFailed; errorCode=003200; statusCode=401",
        detail,
        type="AUTHENTICATION",
        status=401,
    )


def forbidden(detail: str) -> GatewayFault:
    return GatewayFault(
        "3100",
        "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
        detail,
        type="SERVICE",
        status=403,
    )


def throttled(detail: str) -> GatewayFault:
    return GatewayFault(
        "3001",
        "message=ThrottleExceeded; errorCode=003001; statusCode=429",
        detail,
        type="SERVICE",
        status=429,
    )


def system_error(status: int) -> Fault:
    return Fault(
        "10000",
        "An application error has occurred while processing your request",
        f"System Failure Error: The service answered {status}",
        type="SystemFault",
        status=status,
    )
