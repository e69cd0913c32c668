"""What a JSON value must be to have the scalar type an OpenAPI property declares."""

import datetime as dt
from typing import Any

SCALARS = ("integer", "number", "boolean", "string")


def check_scalar(value: Any, declared: dict[str, Any], where: str) -> bool:
    """Assert that a value has the declared scalar type; return False if the type is not scalar."""
    kind = declared.get("type", "object")
    if kind not in SCALARS:
        return False
    if kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: {value!r}"
    elif kind == "number":
        assert isinstance(value, int | float) and not isinstance(value, bool), f"{where}: {value!r}"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{where}: {value!r}"
    else:
        assert isinstance(value, str), f"{where}: {value!r}"
        if declared.get("format") == "date-time":
            dt.datetime.fromisoformat(value)
    return True
