"""Every operation the connector sends is valid against the sandbox's schema (graphql-core)."""

import pytest
from graphql import parse, validate

from arbridge.connectors.superops import queries
from arbridge.sandbox.superops.schema import SCHEMA

DOCUMENTS = {
    name: value
    for name, value in vars(queries).items()
    if name.isupper() and isinstance(value, str) and "{" in value and name != "CONTACT_FIELDS"
    and name != "INVOICE_FIELDS"
}  # fmt: skip


def test_the_connector_sends_the_operations_it_needs():
    assert {"CLIENTS", "INVOICES", "RECORD_PAYMENT", "PAYMENTS", "DELETE_PAYMENT"} <= set(DOCUMENTS)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_each_operation_validates_against_the_schema(name):
    assert validate(SCHEMA, parse(DOCUMENTS[name])) == []


def test_a_field_the_schema_lacks_is_an_error():
    errors = validate(SCHEMA, parse("{ getInvoice(input: {invoiceId: 1}) { amount } }"))
    assert "amount" in errors[0].message
