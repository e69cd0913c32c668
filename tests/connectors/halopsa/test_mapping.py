"""Halo JSON -> canonical records, on vendor payloads kept in fixtures/.

The fixtures are Halo's shapes (../shared/specs/halopsa): a test checks them
against the spec, so the mapping is tested on what Halo sends.
"""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from arbridge.connectors.base import Op, Rejected
from arbridge.connectors.halopsa import mapping
from arbridge.connectors.halopsa.client import loads
from tests.sandbox.halopsa.spec import SPECS, conforms, schema

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str):
    return loads((FIXTURES / name).read_bytes())


@pytest.mark.skipif(not SPECS.is_dir(), reason="needs ../shared/specs/halopsa")
def test_the_fixtures_are_halos_shapes():
    conforms(
        json.loads((FIXTURES / "invoice.json").read_text()), schema("InvoiceHeader"), "invoice"
    )
    conforms(json.loads((FIXTURES / "client.json").read_text()), schema("Area"), "client")
    for user in json.loads((FIXTURES / "users.json").read_text())["users"]:
        conforms(user, schema("Users"), "user")


def test_a_client_is_a_customer_with_its_accounts_email():
    change = mapping.customer_change(fixture("client.json"))

    assert (change.entity, change.remote_id, change.op) == ("customer", "12", Op.UPSERT)
    assert change.record.name == "Bluebird Dental Group"
    assert change.record.email == "ap@bluebird.example"
    assert change.record.phone == "(512) 555-0142"
    assert change.remote_updated_at.isoformat() == "2026-02-10T11:04:51.223000+00:00"


def test_only_an_active_billing_user_of_a_client_is_a_contact():
    changes = [mapping.contact_change(user) for user in fixture("users.json")["users"]]

    assert [(c.remote_id, c.op) for c in changes] == [
        ("31", Op.UPSERT),
        ("32", Op.DELETE),  # not ticked "Send accounts emails"
        ("33", Op.DELETE),  # inactive
        ("34", Op.DELETE),  # nobody's contact
    ]
    contact = changes[0].record
    assert contact.customer_remote_id == "12"
    assert (contact.name, contact.email, contact.phone) == (
        "Avery Moss",
        "avery.moss@bluebird.example",
        "(512) 555-0143",
    )
    assert contact.is_billing
    assert changes[1].record is None


def test_an_invoice_keeps_halos_number_dates_and_amounts():
    change = mapping.invoice_change(fixture("invoice.json"))

    record = change.record
    assert (change.entity, change.remote_id) == ("invoice", "1042")
    assert record.number == "INV-1042"
    assert record.customer_remote_id == "12"
    assert (str(record.issue_date), str(record.due_date)) == ("2026-02-01", "2026-03-03")
    assert (record.currency, record.terms, record.memo) == (
        "USD",
        "Net 30",
        "Thank you for your business",
    )
    assert (record.total, record.balance) == (Decimal("1224.25"), Decimal("1024.25"))
    assert not record.voided
    assert change.remote_updated_at.isoformat() == "2026-02-14T09:15:22.517000+00:00"


def test_an_invoices_lines_and_tax_add_up_to_its_total():
    record = mapping.invoice_change(fixture("invoice.json")).record

    assert [(line.item, line.description, line.quantity, line.amount) for line in record.lines] == [
        ("MS-DEV", "Managed Services - Per Device", Decimal(20), Decimal("900.00")),
        ("BDR", "Backup & Disaster Recovery", Decimal(1), Decimal("250.00")),
        ("", "Tax", Decimal(1), Decimal("74.25")),
    ]
    assert sum(line.amount for line in record.lines) == record.total


@pytest.mark.parametrize("client_id", [None, 0])
def test_an_invoice_with_no_client_has_no_customer(client_id):
    raw = {**fixture("invoice.json"), "client_id": client_id}

    assert mapping.invoice_change(raw).record.customer_remote_id is None


def test_without_amount_remaining_the_balance_is_what_was_not_paid():
    raw = fixture("invoice.json")
    del raw["amount_remaining"], raw["amountdue"]

    assert mapping.invoice_change(raw).record.balance == Decimal("1024.25")


def test_a_voided_invoice_owes_nothing():
    raw = {**fixture("invoice.json"), "voided": True}

    record = mapping.invoice_change(raw).record

    assert record.voided
    assert record.balance == 0


def test_an_unknown_currency_is_the_default():
    raw = {**fixture("invoice.json"), "currency_code_name": "US Dollar"}

    assert mapping.invoice_change(raw).record.currency == "USD"


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"total": None}, "total"), ({"invoice_date": None}, "invoice_date"), ({"id": "x"}, "id")],
)
def test_an_invoice_that_cannot_be_read_is_rejected_with_the_reason(change, reason):
    raw = {**fixture("invoice.json"), **change}

    rejected = mapping.invoice_change(raw)

    assert isinstance(rejected, Rejected)
    assert rejected.entity == "invoice"
    assert reason in rejected.reason
    assert rejected.raw == raw


def test_a_payment_carries_the_reference_arbridge_looks_for():
    body = mapping.payment_body("1042", "125.50", "2026-03-02", "arbridge:payment:41")

    assert body == {
        "invoice_id": 1042,
        "amount": Decimal("125.50"),
        "date": "2026-03-02T00:00:00",
        "thirdpartyid": "arbridge:payment:41",
    }
