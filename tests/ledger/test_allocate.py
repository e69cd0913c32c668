from decimal import Decimal

import pytest

from arbridge.ledger.models import Customer, LedgerError, Payment, PaymentAllocation
from tests.ledger.conftest import make_invoice, make_payment

D = Decimal
EXTERNAL = Payment.Origin.EXTERNAL


def test_it_pays_part_of_an_invoice(partner, invoice):
    payment = make_payment(partner, "40.00", status=Payment.Status.SUCCEEDED)
    payment.allocate(invoice, D("40"))

    assert invoice.balance == D("60.00")
    assert invoice.status == "partially_paid"
    assert payment.unapplied == 0


def test_it_pays_several_invoices_with_one_payment(partner, customer, invoice):
    second = make_invoice(customer, "INV-2", "50.00")
    payment = make_payment(partner, "150.00", status=Payment.Status.SUCCEEDED)
    payment.allocate(invoice, D("100"))
    payment.allocate(second, D("50"))

    invoice.refresh_from_db()
    second.refresh_from_db()
    assert (invoice.status, second.status) == ("paid", "paid")
    assert invoice.balance == second.balance == 0


def test_a_pending_payment_holds_its_amount(partner, invoice):
    payment = make_payment(partner, "100.00", method=Payment.Method.ACH)
    payment.allocate(invoice, D("100"))

    assert invoice.balance == D("100.00")
    assert invoice.status == "open"
    assert invoice.payable == 0
    with pytest.raises(LedgerError):
        make_payment(partner, "1.00").allocate(invoice, D("1"))


def test_a_second_allocation_to_the_same_invoice_adds_to_the_first(partner, invoice):
    payment = make_payment(partner, "100.00", status=Payment.Status.SUCCEEDED)
    payment.allocate(invoice, D("30"))
    payment.allocate(invoice, D("20"))

    assert PaymentAllocation.objects.get(payment=payment).amount == D("50.00")
    assert invoice.balance == D("50.00")


@pytest.mark.parametrize(
    "amount, why",
    [
        ("0", "positive"),
        ("-5", "positive"),
        ("0.004", "positive"),
        ("120.00", "unapplied"),
        ("100.01", "unapplied"),
    ],
)
def test_it_refuses_amounts_it_cannot_apply(partner, invoice, amount, why):
    payment = make_payment(partner, "100.00", status=Payment.Status.SUCCEEDED)
    with pytest.raises(LedgerError, match=why):
        payment.allocate(invoice, D(amount))

    assert not PaymentAllocation.objects.exists()
    invoice.refresh_from_db()
    assert invoice.balance == D("100.00")


def test_it_refuses_more_than_the_invoice_owes(partner, invoice):
    payment = make_payment(partner, "500.00", status=Payment.Status.SUCCEEDED)
    with pytest.raises(LedgerError, match="at most 100.00"):
        payment.allocate(invoice, D("100.01"))

    assert not PaymentAllocation.objects.exists()
    assert invoice.balance == D("100.00")


def test_it_refuses_another_currency(partner, customer):
    euros = make_invoice(customer, "INV-EU", "100.00", currency="EUR")
    payment = make_payment(partner, "100.00", currency="USD", status=Payment.Status.SUCCEEDED)
    with pytest.raises(LedgerError, match="USD cannot pay an invoice in EUR"):
        payment.allocate(euros, D("10"))

    assert not PaymentAllocation.objects.exists()


def test_it_refuses_another_partners_invoice(partner, other_partner):
    theirs = make_invoice(
        Customer.objects.create(partner=other_partner, name="Initech"), "INV-1", "100.00"
    )
    payment = make_payment(partner, "100.00", status=Payment.Status.SUCCEEDED)
    with pytest.raises(LedgerError, match="different partners"):
        payment.allocate(theirs, D("10"))

    theirs.refresh_from_db()
    assert theirs.balance == D("100.00")
    assert not PaymentAllocation.objects.exists()


@pytest.mark.parametrize("status", ["failed", "refunded", "returned"])
def test_it_refuses_a_payment_that_holds_no_money(partner, invoice, status):
    payment = make_payment(partner, "10.00", status=status)
    with pytest.raises(LedgerError, match=f"a {status} payment cannot be applied"):
        payment.allocate(invoice, D("10"))

    assert not PaymentAllocation.objects.exists()


def test_it_refuses_a_void_invoice(partner, invoice):
    invoice.void()
    payment = make_payment(partner, "10.00", status=Payment.Status.SUCCEEDED)
    with pytest.raises(LedgerError, match="void"):
        payment.allocate(invoice, D("10"))

    assert not PaymentAllocation.objects.exists()


def test_it_rounds_half_up_to_cents(partner, invoice):
    payment = make_payment(partner, "100.00", status=Payment.Status.SUCCEEDED)
    payment.allocate(invoice, D("10.005"))

    assert invoice.balance == D("89.99")


def test_it_refuses_a_float(partner, invoice):
    payment = make_payment(partner, "100.00", status=Payment.Status.SUCCEEDED)
    with pytest.raises(TypeError):
        payment.allocate(invoice, 10.5)


def test_an_external_payment_may_be_the_money_the_source_already_reported(partner, invoice):
    # The source said 30 was paid, then the payment itself arrives: not paid twice.
    invoice.set_source_balance(D("70"))
    payment = make_payment(partner, "30.00", status=Payment.Status.SUCCEEDED, origin=EXTERNAL)
    payment.allocate(invoice, D("30"))

    assert invoice.balance == D("70.00")
    assert invoice.source_adjustment == 0


def test_an_arbridge_payment_cannot_pay_what_the_source_already_settled(partner, invoice):
    invoice.set_source_balance(D("70"))
    payment = make_payment(partner, "100.00", status=Payment.Status.SUCCEEDED)
    with pytest.raises(LedgerError, match="at most 70.00"):
        payment.allocate(invoice, D("70.01"))

    payment.allocate(invoice, D("70"))
    assert invoice.balance == 0
    assert invoice.status == "paid"


def test_unallocate_gives_the_money_back_to_the_payment(partner, invoice):
    payment = make_payment(partner, "100.00", status=Payment.Status.SUCCEEDED)
    payment.allocate(invoice, D("100"))
    payment.unallocate(invoice)

    invoice.refresh_from_db()
    assert invoice.balance == D("100.00")
    assert invoice.status == "open"
    assert payment.unapplied == D("100.00")


def test_a_new_amount_from_the_source_keeps_what_is_applied(partner, invoice):
    payment = make_payment(partner, "100.00", status=Payment.Status.SUCCEEDED, origin=EXTERNAL)
    payment.allocate(invoice, D("60"))

    payment.set_amount(D("80"))
    assert payment.unapplied == D("20.00")

    with pytest.raises(LedgerError, match="already has 60.00 applied"):
        payment.set_amount(D("59.99"))
    payment.refresh_from_db()
    assert payment.amount == D("80.00")
