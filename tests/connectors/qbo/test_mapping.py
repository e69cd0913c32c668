"""QuickBooks JSON to canonical records, and arbridge's writes to QuickBooks JSON.

The fixtures are QuickBooks' own responses (quickbooks-ruby's captured XML in
../shared/specs/qbo/samples-xml-quickbooks-ruby/, mapped to the JSON wire
format: elements become keys, a *Ref becomes {"value", "name"}).
"""

import datetime as dt
import glob
import json
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest

from arbridge.connectors.base import Op, PermanentError, Rejected
from arbridge.connectors.qbo import mapping
from arbridge.connectors.qbo.client import loads

FIXTURES = Path(__file__).parent / "fixtures"
SPECS = Path(__file__).parents[4] / "shared" / "specs" / "qbo"
PACIFIC = dt.timezone(dt.timedelta(hours=-8))


def fixture(name: str) -> dict:
    return loads((FIXTURES / f"{name}.json").read_bytes())


def total(lines) -> Decimal:
    return sum((line.amount for line in lines), Decimal(0))


def xsd_names() -> set[str]:
    schema = "{http://www.w3.org/2001/XMLSchema}"
    names = set()
    for path in SPECS.glob("*.xsd"):
        for node in ET.parse(path).getroot().iter():  # noqa: S314 - Intuit's own schema
            if node.tag in (f"{schema}element", f"{schema}attribute") and node.get("name"):
                names.add(node.get("name"))
    return names


def keys(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from keys(item)


@pytest.mark.skipif(not SPECS.exists(), reason="needs ../shared/specs/qbo")
def test_the_fixtures_use_only_names_the_xsd_declares():
    known = xsd_names()
    for path in glob.glob(str(FIXTURES / "*.json")):
        unknown = set(keys(json.loads(Path(path).read_text()))) - known
        assert not unknown, f"{Path(path).name}: {sorted(unknown)}"


# -- invoices ---------------------------------------------------------------------


def test_it_reads_an_invoice_with_its_lines_and_terms():
    [change] = mapping.invoice_changes(fixture("invoice"), {"2": "Net 15"})

    assert (change.entity, change.remote_id, change.op) == ("invoice", "1", Op.UPSERT)
    assert change.remote_version == "2"
    assert change.remote_updated_at == dt.datetime(2013, 11, 15, 15, 22, 43, tzinfo=PACIFIC)
    invoice = change.record
    assert invoice.number == "1001"
    assert invoice.customer_remote_id == "2"
    assert invoice.currency == "USD"
    assert (invoice.issue_date, invoice.due_date) == (dt.date(2013, 11, 15), dt.date(2013, 11, 30))
    assert invoice.terms == "Net 15"
    assert invoice.memo == "Message to Customer"
    assert (invoice.total, invoice.balance) == (Decimal("50.00"), Decimal("50.00"))
    assert not invoice.voided
    assert invoice.has_pdf
    [line] = invoice.lines
    assert (line.description, line.item) == ("Plush Baby Doll", "Sales")
    assert (line.quantity, line.unit_price, line.amount) == (1, 50, Decimal("50.00"))


def test_terms_it_does_not_know_keep_the_name_quickbooks_gave():
    raw = {**fixture("invoice"), "SalesTermRef": {"value": "9", "name": "Net 30"}}

    [change] = mapping.invoice_changes(raw, {})

    assert change.record.terms == "Net 30"


def test_a_discount_is_a_negative_line_and_the_lines_add_up_to_the_total():
    [change] = mapping.invoice_changes(fixture("invoice_discount"), {})

    invoice = change.record
    assert [(line.description, line.amount) for line in invoice.lines] == [
        ("Plush Baby Doll", Decimal("50.00")),
        ("Discount 10%", Decimal("-5.00")),
    ]
    assert total(invoice.lines) == invoice.total == Decimal("45.00")


def test_a_bundle_is_read_as_its_items_and_tax_is_a_line():
    [change] = mapping.invoice_changes(fixture("invoice_bundle"), {})

    invoice = change.record
    assert invoice.currency == "CAD"
    assert [line.item for line in invoice.lines] == [
        "Chocolate Covered Strawberries",
        "Snow Cookie",
        "",
        "",
    ]
    assert [line.description for line in invoice.lines][2:] == ["Discount 20%", "Tax"]
    assert invoice.lines[0].unit_price == Decimal("0.5306667")
    assert total(invoice.lines) == invoice.total == Decimal("9.60")


def test_a_voided_invoice_is_read_as_void():
    raw = fixture("invoice")
    for line in raw["Line"]:
        line["Amount"] = Decimal(0)
    raw.update(TotalAmt=Decimal(0), Balance=Decimal(0), PrivateNote="Voided - Statement Memo")

    [change] = mapping.invoice_changes(raw, {})

    assert change.record.voided
    assert change.record.total == 0


def test_a_note_saying_voided_does_not_void_an_invoice_with_a_total():
    raw = {**fixture("invoice"), "PrivateNote": "Voided check replaced by ACH"}

    [change] = mapping.invoice_changes(raw, {})

    assert not change.record.voided


def test_a_deleted_invoice_is_a_delete_stamped_with_its_time():
    [change] = mapping.invoice_changes(fixture("invoice_deleted"), {})

    assert (change.entity, change.remote_id, change.op) == ("invoice", "39", Op.DELETE)
    assert change.record is None
    assert change.remote_updated_at == dt.datetime(2014, 12, 8, 19, 36, 24, tzinfo=PACIFIC)


def test_an_invoice_it_cannot_read_is_rejected_with_the_reason():
    raw = {**fixture("invoice"), "TxnDate": "the fifteenth"}

    [rejected] = mapping.invoice_changes(raw, {})

    assert isinstance(rejected, Rejected)
    assert (rejected.entity, rejected.remote_id) == ("invoice", "1")
    assert "TxnDate" in rejected.reason
    assert rejected.raw is raw


def test_an_invoice_without_a_number_is_known_by_its_id():
    raw = fixture("invoice")
    del raw["DocNumber"]

    [change] = mapping.invoice_changes(raw, {})

    assert change.record.number == "1"


# -- customers --------------------------------------------------------------------


def test_it_reads_a_customer_and_its_billing_contact():
    customer, contact = mapping.customer_changes(fixture("customer"))

    assert (customer.entity, customer.remote_id, customer.op) == ("customer", "1", Op.UPSERT)
    assert customer.remote_version == "1"
    assert customer.record.name == "Thrifty Meats"
    assert customer.record.email == "info@thriftymeats.com"
    assert customer.record.phone == "(415) 555-1212"
    assert (customer.record.billing_state, customer.record.billing_country) == ("CA", "US")
    assert (contact.entity, contact.remote_id, contact.op) == ("contact", "1-billing", Op.UPSERT)
    assert contact.record.customer_remote_id == "1"
    assert contact.record.email == "info@thriftymeats.com"
    assert contact.record.is_billing


def test_a_customer_deleted_in_quickbooks_is_a_delete_with_its_contact():
    customer, contact = mapping.customer_changes(fixture("customer_deleted"))

    assert (customer.remote_id, customer.op) == ("1", Op.DELETE)
    assert customer.remote_version == "4"
    assert (contact.remote_id, contact.op) == ("1-billing", Op.DELETE)


def test_a_customer_without_an_email_has_no_billing_contact():
    raw = fixture("customer")
    del raw["PrimaryEmailAddr"]

    customer, contact = mapping.customer_changes(raw)

    assert customer.record.email == ""
    assert contact.op == Op.DELETE


def test_of_several_emails_the_first_is_billed():
    raw = {**fixture("customer"), "PrimaryEmailAddr": {"Address": "ap@a.example, cfo@a.example"}}

    customer, contact = mapping.customer_changes(raw)

    assert customer.record.email == contact.record.email == "ap@a.example"


@pytest.mark.parametrize(
    ("country", "state", "expected"),
    [
        ("USA", "CA", ("CA", "US")),
        ("", "TX", ("TX", "US")),
        ("Canada", "ON", ("", "CA")),
        ("United Kingdom", "", ("", "GB")),
        ("Narnia", "", ("", "")),
    ],
)
def test_billing_country_and_state(country, state, expected):
    raw = fixture("customer")
    raw["BillAddr"].update(Country=country, CountrySubDivisionCode=state)

    customer, _ = mapping.customer_changes(raw)

    assert (customer.record.billing_state, customer.record.billing_country) == expected


# -- payments ---------------------------------------------------------------------


def test_it_reads_a_payment_and_the_invoices_it_pays():
    [change] = mapping.payment_changes(fixture("payment"))

    assert (change.entity, change.remote_id, change.op) == ("payment", "83", Op.UPSERT)
    payment = change.record
    assert payment.customer_remote_id == "3"
    assert (payment.amount, payment.currency) == (Decimal("2400.00"), "USD")
    assert payment.date == dt.date(2016, 9, 16)
    assert [(a.invoice_remote_id, a.amount) for a in payment.allocations] == [
        ("68", Decimal("2400.00"))
    ]


def test_an_unapplied_payment_pays_no_invoice():
    [change] = mapping.payment_changes(fixture("payment_unapplied"))

    assert change.record.amount == Decimal("40.00")
    assert change.record.allocations == ()


def test_credit_applied_through_a_payment_is_not_money_received():
    raw = fixture("payment")
    # $2,400 of invoice 68 settled by $2,000 received and a $400 credit memo.
    raw["TotalAmt"] = Decimal("2000.00")
    raw["Line"].append(
        {"Amount": Decimal("400.00"), "LinkedTxn": [{"TxnId": "70", "TxnType": "CreditMemo"}]}
    )

    [change] = mapping.payment_changes(raw)

    assert change.record.amount == Decimal("2000.00")
    assert [(a.invoice_remote_id, a.amount) for a in change.record.allocations] == [
        ("68", Decimal("2000.00"))
    ]


def test_money_left_unapplied_is_not_allocated():
    raw = fixture("payment")
    raw["Line"].append(
        {"Amount": Decimal("100.00"), "LinkedTxn": [{"TxnId": "69", "TxnType": "Invoice"}]}
    )
    raw.update(TotalAmt=Decimal("2700.00"), UnappliedAmt=Decimal("200.00"))

    [change] = mapping.payment_changes(raw)

    assert change.record.amount == Decimal("2700.00")
    assert [(a.invoice_remote_id, a.amount) for a in change.record.allocations] == [
        ("68", Decimal("2400.00")),
        ("69", Decimal("100.00")),
    ]


def test_deleted_and_voided_payments_are_deletes():
    [deleted] = mapping.payment_changes(fixture("payment_deleted"))
    [voided] = mapping.payment_changes(fixture("payment_voided"))

    assert (deleted.remote_id, deleted.op) == ("8748", Op.DELETE)
    assert (voided.remote_id, voided.op) == ("8748", Op.DELETE)
    assert voided.remote_updated_at is not None


# -- writes -----------------------------------------------------------------------


def payment_payload(**changes):
    return {
        "payment_id": 41,
        "amount": "150.00",
        "currency": "USD",
        "date": "2026-03-02",
        "reference": "card ending 4242, charge ch_3P0abcdEFGHijklm",
        "customer_remote_id": "58",
        "allocations": [
            {"invoice_remote_id": "130", "amount": "100.00"},
            {"invoice_remote_id": "131", "amount": "50.00"},
        ],
        **changes,
    }


def test_a_payment_links_each_invoice_it_pays():
    body = mapping.payment_body(payment_payload())

    assert body["CustomerRef"] == {"value": "58"}
    assert body["TotalAmt"] == Decimal("150.00")
    assert body["TxnDate"] == "2026-03-02"
    assert len(body["PaymentRefNum"]) <= 21
    assert body["Line"] == [
        {"Amount": Decimal("100.00"), "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]},
        {"Amount": Decimal("50.00"), "LinkedTxn": [{"TxnId": "131", "TxnType": "Invoice"}]},
    ]
    # Received into Undeposited Funds, QuickBooks' default, for a deposit to move later.
    assert "DepositToAccountRef" not in body


@pytest.mark.parametrize(
    "changes",
    [
        {"customer_remote_id": None},
        {"amount": "120.00"},  # less than its allocations
        {"amount": "a lot"},
    ],
)
def test_a_payment_that_cannot_be_written_is_refused(changes):
    with pytest.raises(PermanentError):
        mapping.payment_body(payment_payload(**changes))


def deposit_payload(**changes):
    return {
        "deposit_id": 7,
        "date": "2026-03-04",
        "currency": "USD",
        "payments": [
            {"remote_id": "201", "amount": "100.00"},
            {"remote_id": "202", "amount": "50.00"},
        ],
        "fees": "4.65",
        "payout": "145.35",
        **changes,
    }


def test_a_deposit_moves_the_payments_and_books_the_fees_as_a_negative_line():
    body = mapping.deposit_body(deposit_payload(), "35", "76")

    assert body["DepositToAccountRef"] == {"value": "35"}
    payments, fees = body["Line"][:2], body["Line"][2]
    assert [line["LinkedTxn"][0]["TxnId"] for line in payments] == ["201", "202"]
    assert all(line["LinkedTxn"][0]["TxnType"] == "Payment" for line in payments)
    assert fees["Amount"] == Decimal("-4.65")
    assert fees["DepositLineDetail"]["AccountRef"] == {"value": "76"}
    assert sum(line["Amount"] for line in body["Line"]) == Decimal("145.35")


def test_a_deposit_without_fees_has_no_fee_line():
    body = mapping.deposit_body(deposit_payload(fees="0", payout="150.00"), "35", None)

    assert len(body["Line"]) == 2


@pytest.mark.parametrize(
    ("changes", "accounts"),
    [
        ({"payout": "145.00"}, ("35", "76")),  # lines would not add up to the payout
        ({}, (None, "76")),  # no bank account chosen
        ({}, ("35", None)),  # fees but no fee account
        ({"fees": "-4.65", "payout": "154.65"}, ("35", "76")),
    ],
)
def test_a_deposit_that_does_not_add_up_is_refused(changes, accounts):
    with pytest.raises(PermanentError):
        mapping.deposit_body(deposit_payload(**changes), *accounts)
