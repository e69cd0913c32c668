"""Zoho's OpenAPI documents for Books (../shared/specs/zoho-books), and checking against them.

# Reference: https://www.zoho.com/books/api/v3/introduction/

Every key an answer carries must be one the schema names, of the type it
declares; every query parameter a request sends must be one the operation
declares; a request body must carry what the schema requires and nothing
it does not name. Amounts are read as Decimal (never float), and a string
the documents declare may be a number (see `check`).
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.sandbox.spec_types import check_scalar

SPECS = Path(__file__).resolve().parents[4] / "shared" / "specs" / "zoho-books"
MODULES = (
    "invoices.yml",
    "contacts.yml",
    "customer-payments.yml",
    "credit-notes.yml",
    "organizations.yml",
    "chart-of-accounts.yml",
)


@cache
def load(name: str) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load((SPECS / name).read_text(), Loader=loader)  # noqa: S506 - a safe loader


def operation(path: str, method: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Return (spec, path item, operation) of the module that declares a concrete path."""
    for name in MODULES:
        spec = load(name)
        for template, item in spec["paths"].items():
            pattern = re.sub(r"\{[^}]+\}", "[^/]+", template.strip("'"))
            if re.fullmatch(pattern, path) and method.lower() in item:
                return spec, item, item[method.lower()]
    raise AssertionError(f"no module of the spec declares {method.upper()} {path}")


def parameter_names(spec: dict[str, Any], item: dict[str, Any], op: dict[str, Any]) -> set[str]:
    names = set()
    for parameter in [*item.get("parameters", []), *op.get("parameters", [])]:
        if "$ref" in parameter:
            parameter = spec["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[-1]]
        if parameter.get("in") == "query":
            names.add(parameter["name"])
    return names


def resolve(spec: dict[str, Any], declared: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in declared:
        declared = spec["components"]["schemas"][declared["$ref"].rsplit("/", 1)[-1]]
    return declared


def check(spec: dict[str, Any], value: Any, declared: dict[str, Any], where: str) -> None:
    declared = resolve(spec, declared)
    if "enum" in declared:
        assert value in declared["enum"], f"{where}: {value!r} is not one of {declared['enum']}"
    # Zoho's documents declare some amounts (total, balance) as strings, sharing
    # the query parameter's schema, while its answers and examples are numbers.
    if declared.get("type") in ("string", "number") and isinstance(value, Decimal | int | str):
        assert not isinstance(value, bool), f"{where}: {value!r}"
        if declared["type"] == "number":
            assert not isinstance(value, str), f"{where}: {value!r}"
        return
    if check_scalar(value, declared, where):
        return
    if declared.get("type") == "array":
        assert isinstance(value, list), f"{where}: {value!r}"
        items = resolve(spec, declared.get("items", {}))
        if items.get("type", "object") == "object" and "properties" in items:
            for n, item in enumerate(value):
                conforms(spec, item, items, f"{where}[{n}]")
        return
    if "properties" in declared:
        conforms(spec, value, declared, where)


def conforms(spec: dict[str, Any], record: Any, declared: dict[str, Any], where: str) -> None:
    assert isinstance(record, dict), f"{where} is not an object"
    declared = resolve(spec, declared)
    properties = declared.get("properties", {})
    for key, value in record.items():
        assert key in properties, f"{where}.{key} is not in the spec"
        check(spec, value, properties[key], f"{where}.{key}")


def request_conforms(path: str, method: str, params: set[str], body: Any = None) -> None:
    """Assert that a request sends only declared parameters and a body the schema takes."""
    spec, item, op = operation(path, method)
    unknown = params - parameter_names(spec, item, op)
    assert not unknown, f"{method.upper()} {path} sends undeclared {sorted(unknown)}"
    if body is not None:
        schema = resolve(spec, op["requestBody"]["content"]["application/json"]["schema"])
        for key in schema.get("required", []):
            if key in schema.get("properties", {}) and not in_every_item(spec, schema, body, key):
                assert key in body, f"{method.upper()} {path} lacks {key}, which the spec requires"
        conforms(spec, body, schema, f"{method.upper()} {path}")


def in_every_item(spec: dict[str, Any], schema: dict[str, Any], body: Any, key: str) -> bool:
    """Return whether a key the schema requires is given in each item of a list instead.

    Zoho's documents list the fields of `invoices[]` (invoice_id,
    amount_applied) among the payment's own required fields as well.
    """
    for name, declared in schema.get("properties", {}).items():
        items = resolve(spec, resolve(spec, declared).get("items", {}))
        if key in items.get("properties", {}) and body.get(name):
            return all(key in item for item in body[name])
    return False


def answer_conforms(body: Any, path: str, method: str = "get") -> None:
    """Assert that an answer is what the spec says the operation answers."""
    spec, _, op = operation(path, method)
    if isinstance(body, dict) and "page_context" in body:
        # The invoices document declares page_context an array of strings; every
        # list answers the object the contacts document declares.
        body = dict(body)
        contacts = load("contacts.yml")
        declared = contacts["components"]["schemas"]["page_context"]
        conforms(
            contacts, body.pop("page_context"), declared, f"{method.upper()} {path}.page_context"
        )
    status = next(iter(op["responses"]))
    schema = op["responses"][status]["content"]["application/json"]["schema"]
    conforms(spec, body, schema, f"{method.upper()} {path}")
