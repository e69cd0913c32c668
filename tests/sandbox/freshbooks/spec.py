"""FreshBooks' OpenAPI (../shared/specs/freshbooks), and checking the sandbox's JSON against it.

# Reference: ../shared/specs/freshbooks/freshbooks-openapi.ballerina-community.yaml

The document is a community one (Ballerina's), and names a record's id
`ID` where FreshBooks' own documentation and answers say `id`: keys are
compared ignoring case. Every key a record carries must be one the schema
names, of the type it declares; `include[]` adds keys the record's schema
leaves out (a client's contacts, whose shape is the spec's Contact).
"""

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.sandbox.spec_types import check_scalar

SPEC = (
    Path(__file__).resolve().parents[4]
    / "shared"
    / "specs"
    / "freshbooks"
    / "freshbooks-openapi.ballerina-community.yaml"
)


@cache
def spec() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(SPEC.read_text(), Loader=loader)  # noqa: S506 - a safe loader


def resolve(declared: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in declared:
        declared = spec()["components"]["schemas"][declared["$ref"].rsplit("/", 1)[-1]]
    return declared


def response_schema(path: str, method: str = "get") -> dict[str, Any]:
    answer = spec()["paths"][path][method]["responses"]["200"]
    return answer["content"]["application/json"]["schema"]


def check(value: Any, declared: dict[str, Any], where: str, extra: dict[str, Any]) -> None:
    declared = resolve(declared)
    if "enum" in declared:
        assert value in declared["enum"], f"{where}: {value!r} is not one of {declared['enum']}"
    if value is None:
        return
    if check_scalar(value, declared, where):
        return
    if declared.get("type") == "array":
        assert isinstance(value, list), f"{where}: {value!r}"
        for n, item in enumerate(value):
            check(item, declared.get("items", {}), f"{where}[{n}]", extra)
        return
    conforms(value, declared, where, extra)


def conforms(record: Any, declared: dict[str, Any], where: str, extra=None) -> None:
    """Assert a value is what the schema declares; `extra` adds keys (name -> schema)."""
    extra = extra or {}
    assert isinstance(record, dict), f"{where} is not an object"
    declared = resolve(declared)
    properties = {k.lower(): v for k, v in (declared.get("properties") or {}).items()}
    properties.update(extra)
    for key in declared.get("required", []):
        assert key.lower() in {k.lower() for k in record}, f"{where} lacks {key}"
    if not properties:
        return  # the spec leaves the object open
    for key, value in record.items():
        assert key.lower() in properties, f"{where}.{key} is not in the spec"
        check(value, properties[key.lower()], f"{where}.{key}", {})


def answer_conforms(body: Any, path: str, method: str = "get", **extra: Any) -> None:
    """Assert an answer is what the spec says `path` answers; `extra` keys a record may add."""
    schema = resolve(response_schema(path, method))
    result = resolve(schema["properties"]["response"])["properties"]["result"]
    assert set(body) == {"response"} and set(body["response"]) == {"result"}
    fields = resolve(result)["properties"]
    for key, value in body["response"]["result"].items():
        if key in ("page", "pages", "per_page", "total"):
            assert isinstance(value, int), f"{path}.{key}: {value!r}"
            continue
        assert key in fields, f"{path}: the result's {key} is not in the spec"
        item = resolve(fields[key])
        if item.get("type") == "array":
            for n, record in enumerate(value):
                conforms(record, item["items"], f"{path}.{key}[{n}]", extra)
        else:
            conforms(value, item, f"{path}.{key}", extra)
