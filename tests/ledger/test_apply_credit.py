from decimal import Decimal

import pytest

from arbridge.ledger.models import Credit, LedgerError, Payment
from tests.ledger.conftest import make_payment

D = Decimal


def test_a_credit_reduces_the_balance(invoice):
    credit = Credit.apply(invoice, D("25"), reference="CM-7")

    assert (invoice.balance, invoice.status) == (D("75.00"), "partially_paid")
    assert credit.currency == invoice.currency

    credit.remove()
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (D("100.00"), "open")


def test_it_refuses_more_than_is_left(partner, invoice):
    pending = make_payment(partner, "60.00")
    pending.allocate(invoice, D("60"))

    with pytest.raises(LedgerError, match="at most 40.00"):
        Credit.apply(invoice, D("40.01"))
    assert not Credit.objects.exists()


@pytest.mark.parametrize("amount", ["0", "-1", "0.001"])
def test_it_refuses_nothing_or_less(invoice, amount):
    with pytest.raises(LedgerError, match="positive"):
        Credit.apply(invoice, D(amount))
    assert not Credit.objects.exists()


def test_it_refuses_a_void_invoice(invoice):
    invoice.void()
    with pytest.raises(LedgerError, match="void"):
        Credit.apply(invoice, D("1"))
    assert not Credit.objects.exists()


def test_a_credit_may_be_what_the_source_already_reported(invoice):
    # The source's balance fell by the credit before the credit memo itself arrived.
    invoice.set_source_balance(D("80"))
    Credit.apply(invoice, D("20"))

    assert invoice.balance == D("80.00")


def test_a_credit_and_a_payment_pay_in_full(partner, invoice):
    Credit.apply(invoice, D("10"))
    payment = make_payment(partner, "90.00", status=Payment.Status.SUCCEEDED)
    payment.allocate(invoice, D("90"))

    assert (invoice.balance, invoice.status) == (0, "paid")
