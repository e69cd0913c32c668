from decimal import Decimal

import pytest

from arbridge.ledger.models import Invoice, LedgerError, Payment
from tests.ledger.conftest import make_invoice, make_payment

D = Decimal
S = Payment.Status


def test_an_ach_payment_settles_then_is_returned(partner, customer, invoice):
    second = make_invoice(customer, "INV-2", "50.00")
    payment = make_payment(partner, "120.00", method=Payment.Method.ACH)
    payment.allocate(invoice, D("100"))
    payment.allocate(second, D("20"))

    payment.set_status(S.SUCCEEDED)
    balances = dict(Invoice.objects.values_list("number", "balance"))
    assert balances == {"INV-1": D("0.00"), "INV-2": D("30.00")}

    payment.set_status(S.RETURNED)
    rows = {i.number: (i.balance, i.status, i.payable) for i in Invoice.objects.all()}
    assert rows == {
        "INV-1": (D("100.00"), "open", D("100.00")),
        "INV-2": (D("50.00"), "open", D("50.00")),
    }
    assert payment.status == "returned"


def test_a_refund_reopens_the_invoice(partner, invoice):
    payment = make_payment(partner, "100.00", status=S.SUCCEEDED)
    payment.allocate(invoice, D("100"))
    payment.set_status(S.REFUNDED)

    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (D("100.00"), "open")


def test_a_failed_payment_releases_what_it_held(partner, invoice):
    payment = make_payment(partner, "100.00")
    payment.allocate(invoice, D("100"))
    payment.set_status(S.FAILED)

    invoice.refresh_from_db()
    assert invoice.payable == D("100.00")


@pytest.mark.parametrize(
    "path",
    [
        [S.SUCCEEDED, S.PENDING],
        [S.FAILED, S.SUCCEEDED],
        [S.REFUNDED, S.SUCCEEDED],
        [S.RETURNED, S.REFUNDED],
        [S.SUCCEEDED, S.FAILED],
    ],
)
def test_it_refuses_to_go_back(partner, invoice, path):
    payment = make_payment(partner, "60.00")
    payment.allocate(invoice, D("60"))
    payment.set_status(path[0])
    invoice.refresh_from_db()
    before = (invoice.balance, invoice.status, invoice.payable)

    with pytest.raises(LedgerError, match="cannot become"):
        payment.set_status(path[1])

    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status, invoice.payable) == before
    assert payment.status == path[0]
    payment.refresh_from_db()
    assert payment.status == path[0]


def test_the_same_status_twice_changes_nothing(partner, invoice):
    payment = make_payment(partner, "60.00")
    payment.allocate(invoice, D("60"))
    payment.set_status(S.SUCCEEDED)
    invoice.refresh_from_db()
    stamp = invoice.updated_at

    payment.set_status(S.SUCCEEDED)

    invoice.refresh_from_db()
    assert invoice.updated_at == stamp
    assert invoice.balance == D("40.00")


def test_it_refuses_an_unknown_status(partner):
    payment = make_payment(partner, "60.00")
    with pytest.raises(LedgerError, match="no such payment status"):
        payment.set_status("lost")
