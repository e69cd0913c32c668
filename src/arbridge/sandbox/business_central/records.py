"""What the sandbox's store and its journals share: refusals, timestamps, amounts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

CENT = Decimal("0.01")


class Invalid(Exception):
    """A request Business Central refuses: an OData error body and a status."""

    def __init__(self, message: str, *, status: int = 400, code: str = "BadRequest") -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": str(self)}}


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def amount(value: Any, name: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise Invalid(f"{name} is not a number: {value!r}") from None
    if not number.is_finite():
        raise Invalid(f"{name} is not a number: {value!r}")
    return number.quantize(CENT)
