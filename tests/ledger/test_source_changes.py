"""What the source reports about an invoice: a new total, a new balance."""

from decimal import Decimal

import pytest

from arbridge.ledger.models import Credit, LedgerError, Payment
from tests.ledger.conftest import make_payment

D = Decimal


def test_a_new_total_moves_the_balance(partner, invoice):
    payment = make_payment(partner, "30.00", status=Payment.Status.SUCCEEDED)
    payment.allocate(invoice, D("30"))

    invoice.set_total(D("130"))
    assert (invoice.total, invoice.balance) == (D("130.00"), D("100.00"))

    invoice.set_total(D("30"))
    assert (invoice.balance, invoice.status) == (0, "paid")


def test_it_refuses_a_total_below_the_money_applied(partner, invoice):
    make_payment(partner, "30.00", status=Payment.Status.SUCCEEDED).allocate(invoice, D("30"))
    make_payment(partner, "20.00").allocate(invoice, D("20"))
    Credit.apply(invoice, D("10"))

    with pytest.raises(LedgerError, match="below the 60.00 already applied"):
        invoice.set_total(D("59.99"))

    invoice.refresh_from_db()
    assert (invoice.total, invoice.balance) == (D("100.00"), D("60.00"))


def test_it_refuses_a_negative_total(invoice):
    with pytest.raises(LedgerError):
        invoice.set_total(D("-1"))
    invoice.refresh_from_db()
    assert invoice.total == D("100.00")


def test_a_partial_payment_in_the_source_lowers_the_balance(invoice):
    invoice.set_source_balance(D("60"))

    assert (invoice.balance, invoice.source_adjustment) == (D("60.00"), D("40.00"))
    assert invoice.status == "partially_paid"


def test_a_payment_taken_here_lowers_the_balance_at_once(partner, invoice):
    # The source has settled 40; the customer pays the other 60 in the portal.
    # Until it is written back, the source still says 60: that is not still owed.
    invoice.set_source_balance(D("60"))
    make_payment(partner, "60.00", status=Payment.Status.SUCCEEDED).allocate(invoice, D("60"))

    assert (invoice.balance, invoice.status) == (0, "paid")
    assert invoice.payable == 0

    # An unrelated edit in the source re-sends the same, stale balance.
    invoice.set_source_balance(D("60"))
    assert invoice.balance == 0

    # The write-back arrives in the source, which now reports 0.
    invoice.set_source_balance(D("0"))
    assert (invoice.balance, invoice.source_adjustment) == (0, D("40.00"))


def test_a_stale_source_balance_never_raises_ours(partner, invoice):
    make_payment(partner, "30.00", status=Payment.Status.SUCCEEDED).allocate(invoice, D("30"))
    invoice.set_source_balance(D("100"))

    assert invoice.balance == D("70.00")


def test_a_source_balance_that_rises_again_reopens_the_invoice(invoice):
    invoice.set_source_balance(D("0"))
    assert invoice.status == "paid"

    invoice.set_source_balance(D("100"))
    assert (invoice.balance, invoice.status) == (D("100.00"), "open")

    invoice.set_source_balance(None)
    assert (invoice.balance, invoice.source_adjustment) == (D("100.00"), 0)


def test_a_refund_here_reopens_an_invoice_the_source_saw_paid(partner, invoice):
    payment = make_payment(partner, "100.00", status=Payment.Status.SUCCEEDED)
    payment.allocate(invoice, D("100"))
    invoice.set_source_balance(D("0"))

    payment.set_status(Payment.Status.REFUNDED)

    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (D("100.00"), "open")


def test_it_refuses_a_negative_source_balance(invoice):
    with pytest.raises(LedgerError, match="negative"):
        invoice.set_source_balance(D("-0.01"))
    invoice.refresh_from_db()
    assert invoice.source_balance is None
