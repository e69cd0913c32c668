"""Creating and saving rows directly: the ledger's fields stay the ledger's."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError

from arbridge.ledger.models import Invoice, LedgerError, Payment
from tests.ledger.conftest import make_invoice, make_payment

D = Decimal


def test_a_new_invoice_owes_its_total(customer):
    invoice = make_invoice(customer, "INV-9", "250.50")

    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (D("250.50"), "open")


def test_a_new_invoice_with_a_lower_balance_was_part_paid_in_its_source(customer):
    invoice = make_invoice(customer, "INV-9", "100.00", balance=D("40"), status="partially_paid")

    invoice.refresh_from_db()
    assert (invoice.source_balance, invoice.source_adjustment) == (D("40.00"), D("60.00"))
    assert (invoice.balance, invoice.status) == (D("40.00"), "partially_paid")


def test_a_new_invoice_may_arrive_paid_or_void(customer):
    paid = make_invoice(customer, "INV-8", "100.00", balance=D("0"), status="paid")
    void = make_invoice(customer, "INV-9", "100.00", status="void")

    assert (paid.balance, paid.status) == (0, "paid")
    assert (void.balance, void.status) == (0, "void")
    assert void.voided_at is not None


@pytest.mark.parametrize(
    "fields",
    [
        {"balance": D("120")},
        {"balance": D("40"), "source_balance": D("50")},
        {"status": "paid"},
        {"total": D("-1")},
    ],
)
def test_it_refuses_a_new_invoice_that_does_not_add_up(customer, fields):
    fields = {"total": D("100"), **fields}
    with pytest.raises(LedgerError):
        Invoice.objects.create(
            partner_id=customer.partner_id,
            customer=customer,
            number="INV-9",
            issue_date=dt.date(2025, 3, 1),
            **fields,
        )
    assert not Invoice.objects.exists()


def test_a_number_is_one_invoice(customer):
    make_invoice(customer, "INV-9", "100.00")
    with pytest.raises(IntegrityError):
        make_invoice(customer, "INV-9", "100.00")


def test_a_stale_copy_does_not_undo_a_payment(partner, invoice):
    stale = Invoice.objects.get(pk=invoice.pk)
    make_payment(partner, "100.00", status=Payment.Status.SUCCEEDED).allocate(invoice, D("100"))

    stale.memo = "Thanks!"
    stale.save()

    invoice.refresh_from_db()
    assert (invoice.memo, invoice.balance, invoice.status) == ("Thanks!", 0, "paid")


def test_it_refuses_a_balance_set_by_hand(invoice):
    invoice.balance = D("0")
    with pytest.raises(LedgerError, match="balance change only through the ledger"):
        invoice.save()

    with pytest.raises(LedgerError, match="total change only through the ledger"):
        invoice.save(update_fields=["total", "memo"])


def test_it_refuses_a_payment_status_set_by_hand(partner, invoice):
    payment = make_payment(partner, "100.00")
    payment.allocate(invoice, D("100"))

    payment.status = Payment.Status.SUCCEEDED
    with pytest.raises(LedgerError, match="status change only through the ledger"):
        payment.save()

    payment.refresh_from_db()
    payment.reference = "ACH 42"
    payment.save()
    assert Payment.objects.get().reference == "ACH 42"


@pytest.mark.parametrize("amount", ["0", "-10", "0.001"])
def test_it_refuses_a_payment_of_nothing(partner, amount):
    with pytest.raises(LedgerError, match="positive"):
        make_payment(partner, amount)
    assert not Payment.objects.exists()
