# ruff: noqa: F811 (the fixture imported from tests.integrations.qbo.fixtures is a parameter here)
"""HaloPSA primary, QuickBooks Online secondary: one invoice from two sources, paid in both."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from arbridge.integrations import writeback
from arbridge.integrations.models import ExceptionItem, ExternalRef, OutboundCommand
from arbridge.ledger.models import Invoice
from tests.integrations.qbo.fixtures import quickbooks, take_payment  # noqa: F401

pytestmark = pytest.mark.django_db


def both_bill(
    halo, company, halo_amount: str, qbo_amount: str, qbo_customer: str = "Globex Corporation"
) -> tuple[dict, dict]:
    """Bill Globex invoice INV-1001 in HaloPSA, and in QuickBooks to `qbo_customer`."""
    in_halo = halo.invoice(
        halo.client("Globex Corporation"),
        ("Managed services", 1, halo_amount),
        invoicenumber="INV-1001",
    )
    in_qbo = company.invoice(company.customer(qbo_customer), qbo_amount, DocNumber="INV-1001")
    return in_halo, in_qbo


def refs(invoice: Invoice) -> set[str]:
    rows = ExternalRef.objects.filter(entity="invoice", local_id=invoice.pk)
    return {row.connection.kind for row in rows}


def test_the_same_invoice_from_both_is_one_invoice_linked_to_both(
    halopsa, quickbooks, halo, company, sync
):
    both_bill(halo, company, "150.00", "150.00")

    sync(halopsa)
    sync(quickbooks)

    [invoice] = Invoice.objects.for_partner(halopsa.partner)
    assert invoice.number == "INV-1001"
    assert invoice.total == Decimal("150.00")
    assert refs(invoice) == {"halopsa", "qbo"}
    assert not ExceptionItem.objects.filter(status=ExceptionItem.Status.OPEN).exists()


def test_the_primary_is_the_system_of_record_whichever_syncs_first(
    halopsa, quickbooks, halo, company, sync
):
    in_halo, in_qbo = both_bill(halo, company, "150.00", "150.00")

    sync(quickbooks)  # the secondary first: it creates the invoice
    [invoice] = Invoice.objects.for_partner(halopsa.partner)
    assert invoice.connection == quickbooks
    sync(halopsa)

    invoice.refresh_from_db()
    assert invoice.connection == halopsa
    assert refs(invoice) == {"halopsa", "qbo"}
    # From now on the primary's changes are the invoice's; the secondary's are not.
    halo.post("Invoice", {"id": in_halo["id"], "duedate": "2026-12-31T00:00:00"})
    company.update("Invoice", in_qbo["Id"], DueDate="2026-12-15")
    sync(halopsa)
    sync(quickbooks)
    invoice.refresh_from_db()
    assert invoice.connection == halopsa
    assert invoice.due_date == dt.date(2026, 12, 31)
    assert not ExceptionItem.objects.filter(status=ExceptionItem.Status.OPEN).exists()


def test_disagreeing_amounts_are_a_visible_conflict_and_nothing_is_overwritten(
    halopsa, quickbooks, halo, company, sync, client, alice
):
    both_bill(halo, company, "150.00", "175.00")

    sync(halopsa)
    sync(quickbooks)

    [invoice] = Invoice.objects.for_partner(halopsa.partner)
    assert invoice.total == Decimal("150.00")
    assert refs(invoice) == {"halopsa"}
    [conflict] = ExceptionItem.objects.filter(status=ExceptionItem.Status.OPEN)
    assert conflict.connection == quickbooks
    client.force_login(alice)
    page = client.get(f"/exceptions/{conflict.pk}/").content.decode()
    assert "INV-1001" in page
    assert "175.00" in page


def test_disagreeing_customers_are_a_visible_conflict_and_nothing_is_overwritten(
    halopsa, quickbooks, halo, company, sync, client, alice
):
    both_bill(halo, company, "150.00", "150.00", qbo_customer="Initech")

    sync(halopsa)
    sync(quickbooks)

    [invoice] = Invoice.objects.for_partner(halopsa.partner)
    assert invoice.customer.name == "Globex Corporation"
    assert invoice.connection == halopsa
    assert refs(invoice) == {"halopsa"}
    [conflict] = ExceptionItem.objects.filter(status=ExceptionItem.Status.OPEN)
    assert conflict.connection == quickbooks
    assert conflict.kind == ExceptionItem.Kind.DUPLICATE_NUMBER
    client.force_login(alice)
    page = client.get(f"/exceptions/{conflict.pk}/").content.decode()
    assert "INV-1001" in page
    assert "Initech" in page


def test_a_customer_changed_later_in_the_secondary_is_a_conflict_too(
    halopsa, quickbooks, halo, company, sync
):
    _, in_qbo = both_bill(halo, company, "150.00", "150.00")
    sync(halopsa)
    sync(quickbooks)
    [invoice] = Invoice.objects.for_partner(halopsa.partner)
    assert refs(invoice) == {"halopsa", "qbo"}

    initech = company.customer("Initech")
    company.update("Invoice", in_qbo["Id"], CustomerRef={"value": initech["Id"]})
    sync(quickbooks)

    invoice.refresh_from_db()
    assert invoice.customer.name == "Globex Corporation"
    [conflict] = ExceptionItem.objects.filter(status=ExceptionItem.Status.OPEN)
    assert conflict.connection == quickbooks
    assert "Initech" in conflict.reason


def test_customers_named_alike_but_for_case_and_spacing_are_one_customer(
    halopsa, quickbooks, halo, company, sync
):
    both_bill(halo, company, "150.00", "150.00", qbo_customer="GLOBEX  Corporation")

    sync(halopsa)
    sync(quickbooks)

    [invoice] = Invoice.objects.for_partner(halopsa.partner)
    assert refs(invoice) == {"halopsa", "qbo"}
    assert not ExceptionItem.objects.filter(status=ExceptionItem.Status.OPEN).exists()


def test_a_number_twice_in_one_source_is_flagged_never_matched(halopsa, halo, sync):
    globex = halo.client("Globex Corporation")
    halo.invoice(globex, ("Managed services", 1, "150.00"), invoicenumber="INV-2002")
    halo.invoice(globex, ("Managed services", 1, "150.00"), invoicenumber="INV-2002")

    sync(halopsa)

    [invoice] = Invoice.objects.for_partner(halopsa.partner).filter(number="INV-2002")
    assert ExternalRef.objects.filter(entity="invoice", local_id=invoice.pk).count() == 1
    [flagged] = ExceptionItem.objects.filter(status=ExceptionItem.Status.OPEN)
    assert flagged.kind == ExceptionItem.Kind.DUPLICATE_NUMBER


def test_a_payment_taken_in_arbridge_is_written_to_both_exactly_once(
    halopsa, quickbooks, halo, company, sync, django_capture_on_commit_callbacks
):
    in_halo, in_qbo = both_bill(halo, company, "150.00", "150.00")
    sync(halopsa)
    sync(quickbooks)
    [invoice] = Invoice.objects.for_partner(halopsa.partner)
    payment = take_payment((invoice, "150.00"))

    for _ in range(2):  # a repeated event writes nothing more
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            writeback.payment_succeeded(payment)

    commands = OutboundCommand.objects.filter(action="create_payment")
    assert {c.connection.kind: c.status for c in commands} == {
        "halopsa": OutboundCommand.Status.DONE,
        "qbo": OutboundCommand.Status.DONE,
    }
    [written] = halo.get("InvoicePayment", invoice_id=in_halo["id"])["invoicepayments"]
    assert Decimal(str(written["amount"])) == Decimal("150.00")
    [remote] = company.payments_of(in_qbo["Id"])
    assert Decimal(remote["TotalAmt"]) == Decimal("150.00")


def test_a_payment_taken_in_arbridge_is_written_to_halopsa_once(
    halopsa, halo, sync, django_capture_on_commit_callbacks
):
    in_halo = halo.invoice(
        halo.client("Globex Corporation"),
        ("Managed services", 1, "150.00"),
        invoicenumber="INV-1001",
    )
    sync(halopsa)
    [invoice] = Invoice.objects.for_partner(halopsa.partner)
    payment = take_payment((invoice, "150.00"))

    for _ in range(2):  # a repeated event writes nothing more
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            writeback.payment_succeeded(payment)

    [command] = OutboundCommand.objects.filter(action="create_payment")
    assert command.status == OutboundCommand.Status.DONE
    [written] = halo.get("InvoicePayment", invoice_id=in_halo["id"])["invoicepayments"]
    assert Decimal(str(written["amount"])) == Decimal("150.00")
