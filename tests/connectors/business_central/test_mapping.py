"""Business Central's records as arbridge reads them: statuses, currencies, lines, contacts."""

from decimal import Decimal

from arbridge.connectors.base import Op, Rejected
from arbridge.connectors.business_central import mapping

INVOICE = {
    "id": "inv-1",
    "number": "103001",
    "status": "Open",
    "customerId": "cust-1",
    "currencyCode": "",
    "invoiceDate": "2026-03-01",
    "dueDate": "2026-03-31",
    "totalAmountIncludingTax": Decimal("110.00"),
    "remainingAmount": Decimal("60.00"),
    "lastModifiedDateTime": "2026-03-02T17:00:00.000Z",
    "salesInvoiceLines": [
        {
            "lineType": "Item",
            "lineObjectNumber": "SEAT",
            "description": "Seats",
            "quantity": Decimal(2),
            "unitPrice": Decimal("55.00"),
            "amountIncludingTax": Decimal("110.00"),
        },
        {"lineType": "Comment", "description": "Thank you"},
    ],
}


def test_an_invoice_in_the_company_s_currency_names_it_and_skips_comment_lines():
    [change] = mapping.invoice_changes(INVOICE, full=True, currency="GBP")

    assert change.op == Op.UPSERT
    record = change.record
    assert (record.currency, record.total, record.balance) == (
        "GBP",
        Decimal("110.00"),
        Decimal("60.00"),
    )
    assert [(line.item, line.amount) for line in record.lines] == [("SEAT", Decimal("110.00"))]
    assert change.remote_version == "2026-03-02T17:00:00+00:00"


def test_drafts_are_not_read_and_corrective_ones_are():
    assert mapping.invoice_changes({**INVOICE, "status": "Draft"}, full=False, currency="USD") == []
    [corrected] = mapping.invoice_changes(
        {**INVOICE, "status": "Corrective"}, full=False, currency="USD"
    )
    assert corrected.op == Op.UPSERT


def test_a_cancelled_invoice_is_a_delete_read_by_change_and_nothing_in_a_full_read():
    cancelled = {**INVOICE, "status": "Canceled"}

    assert mapping.invoice_changes(cancelled, full=True, currency="USD") == []
    [change] = mapping.invoice_changes(cancelled, full=False, currency="USD")
    assert change.op == Op.DELETE


def test_an_unreadable_amount_is_rejected_not_guessed():
    [rejected] = mapping.invoice_changes(
        {**INVOICE, "remainingAmount": "lots"}, full=True, currency="USD"
    )

    assert isinstance(rejected, Rejected) and "remainingAmount" in rejected.reason


def test_a_customer_blocked_for_all_is_deleted_with_its_billing_contact():
    changes = mapping.customer_changes({"id": "c1", "displayName": "Globex", "blocked": "All"})

    assert [(c.entity, c.remote_id, c.op) for c in changes] == [
        ("customer", "c1", Op.DELETE),
        ("contact", "c1:billing", Op.DELETE),
    ]


def test_a_company_contact_or_one_without_a_customer_is_no_contact_of_arbridge_s():
    person = {
        "id": "p1",
        "type": "Person",
        "email": "pat@globex.example",
        "contactsInformation": [{"relatedId": "c1", "relatedType": "Customer"}],
    }

    [kept] = mapping.contact_changes(person)
    [company] = mapping.contact_changes({**person, "type": "Company"})
    [vendor] = mapping.contact_changes(
        {**person, "contactsInformation": [{"relatedId": "v1", "relatedType": "Vendor"}]}
    )

    assert (kept.op, kept.record.customer_remote_id, kept.record.is_billing) == (
        Op.UPSERT,
        "c1",
        False,
    )
    assert company.op == vendor.op == Op.DELETE


def test_document_numbers_are_twenty_characters_and_the_same_for_the_same_key():
    first = mapping.document_number("ARP", "payment:41:1")

    assert len(first) == 20 and first.startswith("ARP")
    assert first == mapping.document_number("ARP", "payment:41:1")
    assert first != mapping.document_number("ARP", "payment:42:1")


def test_a_payment_line_s_description_names_the_invoice_for_its_reversal():
    payload = {
        "payment_id": 41,
        "date": "2026-03-02",
        "reference": "Visa 4242",
        "allocations": [{"invoice_remote_id": "inv-1", "amount": "60.00"}],
    }

    [line] = mapping.payment_lines(payload, "ARP0123")

    assert mapping.paid_invoice(line["description"]) == "inv-1"
    assert (line["amount"], line["appliesToInvoiceId"]) == (Decimal("60.00"), "inv-1")
