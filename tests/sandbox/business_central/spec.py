"""Business Central's v1.0 OpenAPI, and checking the sandbox's v2.0 JSON against it.

# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/transition-to-api-v2.0

The spec in ../shared/specs/business-central is API v1.0; the sandbox
serves v2.0. Every key a record carries must be one the v1.0 schema names,
of the type it declares, or one of the v2.0 additions below (Microsoft's
v2.0 resource pages); a v2.0 change of type is listed too. Entity sets new
in v2.0 (contacts, subscriptions) have no v1.0 schema and are not checked.
"""

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.sandbox.spec_types import check_scalar

SPECS = Path(__file__).resolve().parents[4] / "shared" / "specs" / "business-central"

# What API v2.0 added to the records the sandbox serves (v2.0 resource pages).
V2_ADDED: dict[str, frozenset[str]] = {
    # v1.0's `address` complex value became flat fields.
    "customer": frozenset(
        {"addressLine1", "addressLine2", "city", "state", "country", "postalCode"}
    ),
    "salesInvoice": frozenset({"postingDate", "salesInvoiceLines"}),
    "salesInvoiceLine": frozenset({"lineObjectNumber"}),
    "customerPayment": frozenset({"journalId"}),
    "journalLine": frozenset({"journalId"}),
    "account": frozenset({"accountType", "directPosting"}),
    "bankAccount": frozenset({"currencyCode", "lastModifiedDateTime"}),
    # v2.0 keys G/L entries by a GUID `id`; v1.0's integer id is `entryNumber` now.
    "generalLedgerEntry": frozenset({"entryNumber", "id"}),
}
ANNOTATIONS = frozenset({"@odata.etag", "@odata.context"})


@cache
def spec() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    text = (SPECS / "bc-api-v1.0-openapi.yaml").read_text()
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader


def schema(name: str) -> dict[str, Any]:
    return spec()["components"]["schemas"][name]


def conforms(record: Any, name: str, where: str = "") -> None:
    """Assert that a record is the v1.0 schema `name`, with v2.0's additions."""
    where = where or name
    assert isinstance(record, dict), f"{where} is not an object"
    properties = schema(name).get("properties", {})
    added = V2_ADDED.get(name, frozenset())
    for key, value in record.items():
        if key in ANNOTATIONS or key in added:
            continue
        assert key in properties, f"{where}.{key} is neither in the v1.0 spec nor a v2.0 addition"
        declared = properties[key]
        if value is None or "$ref" in declared:
            continue
        check_scalar(value, declared, f"{where}.{key}")


def path_schema(path: str) -> str:
    """Return the schema a v1.0 list path answers with (its items' `$ref`)."""
    answer = spec()["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    items = answer["schema"]
    while "$ref" in items:
        items = spec()["components"]["schemas"][items["$ref"].rsplit("/", 1)[-1]]
    value = items.get("properties", {}).get("value", items)
    ref = value.get("items", value).get("$ref", "")
    return ref.rsplit("/", 1)[-1]
