"""Halo's API specification (../shared/specs/halopsa), and checking JSON against it."""

import json
from functools import cache
from pathlib import Path
from typing import Any

from tests.sandbox.spec_types import check_scalar

SPECS = Path(__file__).resolve().parents[4] / "shared" / "specs" / "halopsa"


@cache
def spec() -> dict[str, Any]:
    # The full specification: the subset leaves out ClientContract and Instance.
    return json.loads((SPECS / "halo-api-v2-swagger.full.json").read_text())


def schema(name: str) -> dict[str, Any]:
    return spec()["components"]["schemas"][name]


def check(value: Any, declared: dict[str, Any], where: str) -> None:
    """Assert that a value has the type a spec property declares."""
    if "$ref" in declared:
        declared = schema(declared["$ref"].rsplit("/", 1)[-1])
    if value is None:
        assert declared.get("nullable"), f"{where} is null, which the spec does not allow"
        return
    if check_scalar(value, declared, where):
        return
    kind = declared.get("type", "object")
    if kind == "array":
        assert isinstance(value, list), f"{where}: {value!r}"
        for position, item in enumerate(value):
            check(item, declared["items"], f"{where}[{position}]")
    else:
        conforms(value, declared, where)


def conforms(record: dict[str, Any], declared: dict[str, Any], where: str) -> None:
    assert isinstance(record, dict), f"{where} is not an object"
    properties = declared["properties"]
    for key, value in record.items():
        assert key in properties, f"{where}.{key} is not in the spec"
        check(value, properties[key], f"{where}.{key}")
