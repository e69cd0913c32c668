"""The sandbox's AR invoice lines carry what Intacct's invoice-line object defines.

../shared/specs/sage-intacct holds the REST API's OpenAPI for accounts-receivable
invoice lines; the XML gateway's ARINVOICEITEM is the same object under its
XML field names. Each field the sandbox serves (and the connector reads) must
be a property of that object, of a compatible type.
"""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from arbridge.connectors.sage_intacct import mapping
from arbridge.sandbox.sage_intacct import create_app, seed

SPEC = (
    Path(__file__).resolve().parents[3]
    / ".."
    / "shared"
    / "specs"
    / "sage-intacct"
    / "intacct-rest-v1-accounts-receivable-invoice-line.openapi.json"
)
# XML field -> (REST property path, the type the REST schema gives it)
FIELDS = {
    "RECORDNO": ("key", "string"),
    "RECORDKEY": ("invoice.key", "string"),
    "LINE_NO": ("lineNumber", "number"),
    "ENTRYDESCRIPTION": ("memo", "string"),
    "AMOUNT": ("txnAmount", "string"),
    "ACCOUNTNO": ("glAccount.id", "string"),
}


@pytest.fixture(scope="module")
def schema():
    if not SPEC.exists():
        pytest.skip("the shared specs are not here")
    spec = json.loads(SPEC.read_text())
    return spec, spec["components"]["schemas"]["objects.accounts-receivable.invoice-line"]


def resolve(spec, node):
    while "$ref" in node:
        *_, name = node["$ref"].split("/")
        node = spec["components"]["schemas"][name]
    if "allOf" in node:
        merged = {"properties": {}}
        for part in node["allOf"]:
            part = resolve(spec, part)
            merged["properties"].update(part.get("properties", {}))
            merged.setdefault("type", part.get("type"))
        return merged
    return node


def property_of(spec, schema, path):
    node = schema
    for part in path.split("."):
        node = resolve(spec, node)["properties"][part]
    return resolve(spec, node)


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_each_line_field_is_a_property_of_the_invoice_line_object(schema, field):
    spec, line = schema
    path, kind = FIELDS[field]

    found = property_of(spec, line, path)

    assert found.get("type") == kind, (field, found)


def test_the_sandbox_serves_lines_the_spec_can_read(schema):
    app = create_app()
    app.store.add_company("acme", "Acme")
    seed(app.store, "acme", customers=1, invoices=3, lines_per_invoice=2)
    lines = list(app.store.companies["acme"].lines.values())

    assert set(mapping.LINE_FIELDS) - {"ITEMID"} <= set(FIELDS)
    for line in lines:
        assert int(line["LINE_NO"]) >= 1
        assert Decimal(line["AMOUNT"]) == Decimal(line["AMOUNT"]).quantize(Decimal("0.01"))
        assert line["RECORDKEY"].isdigit()
