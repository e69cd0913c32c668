"""Xero's OpenAPI (openapi/, copied from XeroAPI/Xero-OpenAPI), and checking JSON against it.

# Reference: https://github.com/XeroAPI/Xero-OpenAPI

Every key a record carries must be one the schema names, of the type it
declares (an enum's value among its values; an "msdate" in Xero's
"/Date(ms+0000)/" form); a list answer's envelope (Id, Status,
ProviderName, DateTimeUTC) is what Xero adds around every schema.
"""

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.sandbox.spec_types import check_scalar

# The vendor's own OpenAPI documents, beside the project as CI has them.
SPECS = Path(__file__).resolve().parents[4] / "shared" / "specs" / "xero"
MS_DATE = re.compile(r"/Date\(-?\d+([+-]\d{4})?\)/")
ENVELOPE = {"Id", "Status", "ProviderName", "DateTimeUTC"}


def _load(name: str) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load((SPECS / name).read_text(), Loader=loader)  # noqa: S506 - a safe loader


@cache
def accounting() -> dict[str, Any]:
    return _load("xero_accounting.yaml")


@cache
def webhooks() -> dict[str, Any]:
    return _load("xero-webhooks.yaml")


def resolve(spec: dict[str, Any], declared: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in declared:
        declared = spec["components"]["schemas"][declared["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in declared:
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in declared["allOf"]:
            part = resolve(spec, part)
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        return merged
    return declared


def response_schema(path: str, method: str, status: str = "200") -> dict[str, Any]:
    spec = accounting()
    answer = spec["paths"][path][method]["responses"][status]
    if "$ref" in answer:
        answer = spec["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
    return answer["content"]["application/json"]["schema"]


def check(spec: dict[str, Any], value: Any, declared: dict[str, Any], where: str) -> None:
    declared = resolve(spec, declared)
    if declared.get("x-is-msdate") or declared.get("x-is-msdate-time"):
        assert isinstance(value, str) and MS_DATE.fullmatch(value), f"{where}: {value!r}"
        return
    if "enum" in declared:
        assert value in declared["enum"], f"{where}: {value!r} is not one of {declared['enum']}"
    if "oneOf" in declared and isinstance(value, str):
        consts = [option.get("const") for option in declared["oneOf"]]
        assert value in consts, f"{where}: {value!r} is not one of {consts}"
        return
    if check_scalar(value, declared, where):
        return
    if declared.get("type") == "array":
        assert isinstance(value, list), f"{where}: {value!r}"
        for n, item in enumerate(value):
            check(spec, item, declared["items"], f"{where}[{n}]")
        return
    conforms(spec, value, declared, where)


def conforms(
    spec: dict[str, Any], record: Any, declared: dict[str, Any], where: str, allowed=frozenset()
) -> None:
    assert isinstance(record, dict), f"{where} is not an object"
    declared = resolve(spec, declared)
    properties = declared.get("properties", {})
    for key in declared.get("required", []):
        assert key in record, f"{where} lacks {key}, which the spec requires"
    for key, value in record.items():
        if key in allowed:
            continue
        assert key in properties, f"{where}.{key} is not in the spec"
        check(spec, value, properties[key], f"{where}.{key}")


def answer_conforms(body: Any, path: str, method: str = "get", status: str = "200") -> None:
    """Assert that an Accounting API answer is what the spec says `path` answers."""
    conforms(accounting(), body, response_schema(path, method, status), path, ENVELOPE)


def delivery_conforms(body: Any) -> None:
    """Assert that a webhook delivery is a WebhookEvent."""
    spec = webhooks()
    conforms(spec, body, {"$ref": "#/components/schemas/WebhookEvent"}, "delivery")
