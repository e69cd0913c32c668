"""One test per row of "Overview of synced items" in seeds/quickbooks-online.md.

Every item is Real Time: each test syncs the company once, as connecting
does, then changes it in QuickBooks and lets the webhook bring the change.
"""

import datetime as dt
from decimal import Decimal

import pytest

from arbridge.connectors.base import Frequency, Item
from arbridge.connectors.qbo import QuickBooksOnline
from arbridge.integrations import writeback
from arbridge.integrations.models import ExternalRef, OutboundCommand
from arbridge.ledger.models import Contact, Customer, Invoice, Payment
from tests.integrations.qbo.fixtures import record_payout, take_payment


@pytest.fixture
def globex(qbo, company, sync) -> dict:
    customer = company.customer(
        "Globex", "ap@globex.example", PrimaryPhone={"FreeFormNumber": "555-0100"}
    )
    sync(qbo)
    return customer


def local(entity: str, remote: dict):
    ref = ExternalRef.objects.get(entity=entity, remote_id=remote["Id"])
    model = {"invoice": Invoice, "customer": Customer, "payment": Payment}[entity]
    return model.objects.get(pk=ref.local_id)


def test_every_item_is_real_time():
    frequencies = QuickBooksOnline.capabilities.frequencies
    assert {item: frequencies[item] for item in Item} == {
        item: Frequency.REAL_TIME for item in Item
    }


def test_invoice_details(company, globex, deliver):
    remote = company.invoice(
        globex, "1200.00", DocNumber="INV-2041", TxnDate="2026-03-01", DueDate="2026-03-31"
    )
    deliver()

    invoice = local("invoice", remote)
    assert invoice.number == "INV-2041"
    assert (invoice.issue_date, invoice.due_date) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert invoice.customer.name == "Globex"
    assert (invoice.total, invoice.balance) == (Decimal("1200.00"), Decimal("1200.00"))
    assert invoice.status == Invoice.Status.OPEN

    company.update(
        "Invoice", remote["Id"], DueDate="2026-04-15", CustomerMemo={"value": "Thank you"}
    )
    deliver()

    invoice.refresh_from_db()
    assert invoice.due_date == dt.date(2026, 4, 15)
    assert invoice.memo == "Thank you"


def test_invoice_line_items(company, globex, deliver):
    remote = company.invoice(globex, "450.00", "75.50")
    deliver()

    invoice = local("invoice", remote)
    assert [(line.description, line.amount) for line in invoice.lines.all()] == [
        ("Managed services, line 1", Decimal("450.00")),
        ("Managed services, line 2", Decimal("75.50")),
    ]

    lines = company.read("Invoice", remote["Id"])["Line"][:1]
    lines[0]["Description"] = "Managed services, March"
    company.update("Invoice", remote["Id"], Line=lines)
    deliver()

    assert [(line.description, line.amount) for line in invoice.lines.all()] == [
        ("Managed services, March", Decimal("450.00"))
    ]
    invoice.refresh_from_db()
    assert invoice.total == Decimal("450.00")


def test_customers(company, globex, deliver):
    customer = local("customer", globex)
    assert (customer.name, customer.email, customer.phone) == (
        "Globex",
        "ap@globex.example",
        "555-0100",
    )
    assert [(c.email, c.is_billing) for c in Contact.objects.filter(customer=customer)] == [
        ("ap@globex.example", True)
    ]

    company.update(
        "Customer",
        globex["Id"],
        DisplayName="Globex Corporation",
        PrimaryEmailAddr={"Address": "billing@globex.example"},
    )
    initech = company.customer("Initech", "ap@initech.example")
    deliver()

    customer.refresh_from_db()
    assert (customer.name, customer.email) == ("Globex Corporation", "billing@globex.example")
    assert local("customer", initech).name == "Initech"


def test_payments(company, globex, deliver):
    remote_invoice = company.invoice(globex, "300.00")
    deliver()

    company.pay(remote_invoice, "300.00", PaymentRefNum="CHK 1042")
    deliver()

    payment = Payment.objects.get()
    assert (payment.origin, payment.status) == (Payment.Origin.EXTERNAL, Payment.Status.SUCCEEDED)
    assert (payment.amount, payment.reference) == (Decimal("300.00"), "CHK 1042")
    invoice = local("invoice", remote_invoice)
    assert invoice.status == Invoice.Status.PAID
    assert invoice.balance == 0


def test_deposits(qbo, company, globex, deliver, django_capture_on_commit_callbacks):
    bank = company.account("Business Checking", "Bank", "Checking")
    fees = company.account("Merchant Fees", "Expense", "BankCharges")
    qbo.set_preferences(
        {"create_deposits": True, "deposit_account_id": bank["Id"], "fee_account_id": fees["Id"]}
    )
    first, second = company.invoice(globex, "150.00"), company.invoice(globex, "80.00")
    deliver()
    payments = [
        take_payment((local("invoice", first), "150.00"), reference="sbx_pay_1"),
        take_payment((local("invoice", second), "80.00"), reference="sbx_pay_2"),
    ]
    deposit = record_payout(payments, fees="6.97")

    with django_capture_on_commit_callbacks(execute=True):
        for payment in payments:
            writeback.payment_succeeded(payment)
    with django_capture_on_commit_callbacks(execute=True):
        [command] = writeback.deposit_recorded(deposit)

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE
    [remote] = company.query("select * from Deposit")
    assert remote["DepositToAccountRef"]["value"] == bank["Id"]
    written = {ref.local_id: ref.remote_id for ref in ExternalRef.objects.filter(entity="payment")}
    moved = [line for line in remote["Line"] if line.get("LinkedTxn")]
    assert sorted((line["LinkedTxn"][0]["TxnId"], line["Amount"]) for line in moved) == sorted(
        [(written[payments[0].pk], Decimal("150.00")), (written[payments[1].pk], Decimal("80.00"))]
    )
    [fee] = [line for line in remote["Line"] if not line.get("LinkedTxn")]
    assert fee["Amount"] == Decimal("-6.97")
    assert fee["DepositLineDetail"]["AccountRef"]["value"] == fees["Id"]
    assert Decimal(remote["TotalAmt"]) == deposit.amount == Decimal("223.03")
    assert ExternalRef.objects.get(entity="deposit").remote_id == remote["Id"]


def test_archiving_invoices(company, globex, deliver):
    remote = company.invoice(globex, "99.00")
    deliver()

    company.delete("Invoice", remote["Id"])
    deliver()

    invoice = local("invoice", remote)
    assert invoice.archived
    assert ExternalRef.objects.get(entity="invoice").deleted_at is not None


def test_archiving_customers(company, globex, deliver):
    # QuickBooks never deletes a customer: "deleting" one makes it inactive.
    company.update("Customer", globex["Id"], Active=False)
    deliver()

    assert local("customer", globex).archived


def test_delete_payments(company, globex, deliver):
    remote_invoice = company.invoice(globex, "300.00")
    deliver()
    remote_payment = company.pay(remote_invoice, "300.00")
    deliver()

    company.delete("Payment", remote_payment["Id"])
    deliver()

    invoice = local("invoice", remote_invoice)
    assert (invoice.status, invoice.balance) == (Invoice.Status.OPEN, Decimal("300.00"))
    payment = Payment.objects.get()
    assert payment.source_deleted_at is not None
    assert not payment.allocations.exists()


def test_pdf_invoices(client, alice, company, globex, deliver, settings, tmp_path):
    settings.DATA_DIR = tmp_path  # where the PDFs fetched are kept
    remote = company.invoice(globex, "1200.00", DocNumber="INV-2041")
    deliver()
    invoice = local("invoice", remote)
    client.force_login(alice)

    page = client.get(f"/invoices/{invoice.pk}/")
    response = client.get(f"/invoices/{invoice.pk}/pdf/")

    assert f'href="/invoices/{invoice.pk}/pdf/"' in page.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
