"""One test per row of "QuickBooks Online sync details" in seeds/quickbooks-online.md."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from arbridge.core import clock
from arbridge.integrations import writeback
from arbridge.integrations.models import ExternalRef, OutboundCommand
from arbridge.ledger.models import Customer, Invoice
from tests.integrations.qbo.fixtures import take_payment


@pytest.fixture
def books(qbo, company, sync) -> dict:
    globex = company.customer("Globex", "ap@globex.example")
    invoice = company.invoice(globex, "400.00", DueDate="2026-03-31")
    sync(qbo)
    return {"customer": globex, "invoice": invoice}


def local_invoice(remote: dict) -> Invoice:
    ref = ExternalRef.objects.get(entity="invoice", remote_id=remote["Id"])
    return Invoice.objects.get(pk=ref.local_id)


def remote_count(company, entity: str) -> int:
    return len(company.query(f"select * from {entity}"))  # noqa: S608 - not SQL


def test_invoice_status_update_is_two_way(
    company, books, deliver, django_capture_on_commit_callbacks
):
    # Paid in QuickBooks: paid in arbridge.
    paid_there = company.invoice(books["customer"], "100.00")
    deliver()
    company.pay(paid_there, "100.00")
    deliver()
    assert local_invoice(paid_there).status == Invoice.Status.PAID

    # Voided in QuickBooks: void in arbridge.
    voided = company.invoice(books["customer"], "75.00")
    deliver()
    company.void("Invoice", voided["Id"])
    deliver()
    assert local_invoice(voided).status == Invoice.Status.VOID

    # Paid in arbridge: paid in QuickBooks, by the payment written there.
    invoice = local_invoice(books["invoice"])
    payment = take_payment((invoice, "400.00"))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        writeback.payment_succeeded(payment)
    assert Decimal(company.read("Invoice", books["invoice"]["Id"])["Balance"]) == 0
    deliver()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID


def test_changes_to_unpaid_invoices_come_in_and_never_go_out(qbo, company, books, deliver, sync):
    invoice = local_invoice(books["invoice"])

    lines = company.read("Invoice", books["invoice"]["Id"])["Line"][:1]
    lines[0]["Amount"] = Decimal("450.00")
    lines[0]["SalesItemLineDetail"]["UnitPrice"] = Decimal("450.00")
    company.update("Invoice", books["invoice"]["Id"], Line=lines, DueDate="2026-04-30")
    deliver()

    invoice.refresh_from_db()
    assert (invoice.total, invoice.balance) == (Decimal("450.00"), Decimal("450.00"))
    assert invoice.due_date == dt.date(2026, 4, 30)

    # Changed in arbridge: QuickBooks keeps its own, and nothing is owed to it.
    invoice.due_date, invoice.memo = dt.date(2026, 9, 1), "Agreed a later date"
    invoice.save()
    sync(qbo)

    remote = company.read("Invoice", books["invoice"]["Id"])
    assert (remote["DueDate"], Decimal(remote["TotalAmt"])) == ("2026-04-30", Decimal("450.00"))
    assert not OutboundCommand.objects.exists()


def test_partial_payments_and_credits_reduce_the_balance(company, books, deliver):
    company.pay(books["invoice"], "150.00")
    deliver()

    invoice = local_invoice(books["invoice"])
    assert (invoice.status, invoice.balance) == (Invoice.Status.PARTIALLY_PAID, Decimal("250.00"))

    company.credit(books["invoice"], "50.00")
    deliver()

    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance) == (Invoice.Status.PARTIALLY_PAID, Decimal("200.00"))
    assert Decimal(company.read("Invoice", books["invoice"]["Id"])["Balance"]) == invoice.balance


def test_customers_created_in_arbridge_are_not_sent(partner, qbo, company, books, sync):
    before = remote_count(company, "Customer")

    Customer.objects.create(partner=partner, name="Walk-in Dental", email="ap@walkin.example")
    sync(qbo)

    assert remote_count(company, "Customer") == before
    assert not OutboundCommand.objects.exists()


def test_invoices_created_in_arbridge_are_not_sent(partner, qbo, company, books, sync):
    customer = Customer.objects.create(partner=partner, name="Walk-in Dental")
    Invoice.objects.create(
        partner=partner, customer=customer, number="A-1", issue_date=clock.today(), total=120
    )
    sync(qbo)

    assert remote_count(company, "Invoice") == 1
    assert not OutboundCommand.objects.exists()


def test_deleted_in_quickbooks_is_archived_and_archived_in_arbridge_deletes_nothing(
    qbo, company, books, deliver, sync
):
    doomed = company.invoice(books["customer"], "60.00")
    gone = company.customer("Gone Ltd", "ap@gone.example")
    deliver()

    company.delete("Invoice", doomed["Id"])
    company.update("Customer", gone["Id"], Active=False)
    deliver()

    assert local_invoice(doomed).archived
    ref = ExternalRef.objects.get(entity="customer", remote_id=gone["Id"])
    assert Customer.objects.get(pk=ref.local_id).archived

    # Archived in arbridge: still there in QuickBooks.
    invoice = local_invoice(books["invoice"])
    invoice.archive()
    invoice.customer.archive()
    sync(qbo)

    assert company.read("Invoice", books["invoice"]["Id"])["Id"] == books["invoice"]["Id"]
    assert company.read("Customer", books["customer"]["Id"])["Active"] is True
    assert not OutboundCommand.objects.exists()
