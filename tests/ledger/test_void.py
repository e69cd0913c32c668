from decimal import Decimal

import pytest

from arbridge.ledger.models import Credit, Customer, LedgerError, Payment
from tests.ledger.conftest import make_payment

D = Decimal


def test_void_zeroes_the_balance(invoice):
    invoice.void()

    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (0, "void")
    assert invoice.voided_at is not None


def test_voiding_twice_changes_nothing(invoice):
    invoice.void()
    voided_at, updated_at = invoice.voided_at, invoice.updated_at
    invoice.void()

    invoice.refresh_from_db()
    assert (invoice.voided_at, invoice.updated_at) == (voided_at, updated_at)


def test_a_void_invoice_stays_void_whatever_the_source_reports(invoice):
    invoice.void()
    invoice.set_source_balance(D("40"))
    invoice.set_total(D("0"))

    assert (invoice.balance, invoice.status, invoice.total) == (0, "void", 0)


@pytest.mark.parametrize("status", [Payment.Status.PENDING, Payment.Status.SUCCEEDED])
def test_it_refuses_while_a_payment_is_applied(partner, invoice, status):
    payment = make_payment(partner, "10.00", status=status)
    payment.allocate(invoice, D("10"))

    with pytest.raises(LedgerError, match="still has 10.00 applied"):
        invoice.void()
    invoice.refresh_from_db()
    assert invoice.status == ("open" if status == Payment.Status.PENDING else "partially_paid")
    assert invoice.voided_at is None

    payment.set_status(Payment.Status.REFUNDED)
    invoice.void()
    assert invoice.status == "void"


def test_it_refuses_while_a_credit_is_applied(invoice):
    Credit.apply(invoice, D("10"))
    with pytest.raises(LedgerError):
        invoice.void()
    invoice.refresh_from_db()
    assert invoice.voided_at is None


def test_archive_keeps_the_invoice_and_its_customer(invoice):
    invoice.archive()
    invoice.customer.archive()

    invoice.refresh_from_db()
    assert invoice.archived and invoice.archived_at is not None
    assert invoice.balance == D("100.00")
    assert Customer.objects.get().archived
