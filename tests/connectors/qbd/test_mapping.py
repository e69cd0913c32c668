"""QuickBooks Desktop's records as canonical ones, from qbXML fixtures checked against qbXML 7.0."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from arbridge.connectors.base import Op
from arbridge.connectors.qbd import mapping, qbxml
from tests.sandbox.qbd.spec import problems

FIXTURES = Path(__file__).parent / "fixtures"


def rows(name: str):
    return qbxml.parse((FIXTURES / name).read_text()).rows


@pytest.mark.parametrize("name", ["invoice_query.xml", "customer_query.xml"])
def test_the_fixtures_are_qbxml_7(name):
    assert problems((FIXTURES / name).read_text()) == []


def test_an_invoice_with_sales_tax_and_lines():
    [change] = mapping.invoice_changes(rows("invoice_query.xml")[0])

    invoice = change.record
    assert (change.remote_id, change.remote_version) == ("1D2-1772450000", "1772469605")
    assert change.remote_updated_at == dt.datetime(2026, 3, 2, 16, 40, 5, tzinfo=dt.UTC)
    assert (invoice.number, invoice.terms, invoice.memo) == ("10412", "Net 30", "March services")
    assert (invoice.total, invoice.balance) == (Decimal("1262.00"), Decimal("762.00"))
    assert invoice.customer_remote_id == "80000007-1772000000"
    assert invoice.due_date == dt.date(2026, 3, 31)
    first, second = invoice.lines
    assert (first.item, first.quantity, first.unit_price) == (
        "Managed services",
        20,
        Decimal("55.00"),
    )
    assert (second.quantity, second.unit_price, second.amount) == (
        1,
        Decimal("150.00"),
        Decimal("150.00"),
    )
    assert not invoice.voided


def test_a_voided_invoice_is_voided():
    [change] = mapping.invoice_changes(rows("invoice_query.xml")[1])

    assert change.record.voided and change.record.total == 0


def test_a_customer_and_its_billing_contact():
    customer, contact = mapping.customer_changes(rows("customer_query.xml")[0])

    assert customer.record.name == "Bluebird Dental:Main Office"
    assert (customer.record.billing_state, customer.record.billing_country) == ("OR", "US")
    assert contact.remote_id == "80000007-1772000000:billing"
    assert (contact.record.name, contact.record.email) == ("Pat Doe", "ap@bluebird.example")


def test_an_inactive_customer_is_deleted_with_its_contact():
    changes = mapping.customer_changes(rows("customer_query.xml")[1])

    assert [(c.entity, c.op) for c in changes] == [("customer", Op.DELETE), ("contact", Op.DELETE)]


def test_the_mark_fits_quickbooks_20_characters_and_differs_by_key():
    assert len(mapping.mark("payment:123456:7")) <= 20
    assert mapping.mark("payment:1:1") != mapping.mark("payment:1:2")
