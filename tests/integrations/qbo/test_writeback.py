from decimal import Decimal

import pytest
from django.db import transaction

from arbridge.core import clock
from arbridge.integrations import outbox, writeback
from arbridge.integrations.models import ExceptionItem, ExternalRef, OutboundCommand
from arbridge.ledger.models import Customer, Invoice, Payment
from tests.integrations.qbo.fixtures import bill_globex, local, record_payout, take_payment


@pytest.fixture
def books(qbo, company, sync) -> dict:
    """Two invoices of Globex's in QuickBooks, synced into arbridge."""
    return bill_globex(company, qbo, sync)


@pytest.fixture
def written(django_capture_on_commit_callbacks):
    """Return a function that records a succeeded payment's write-back, delivered at commit."""

    def written(payment: Payment) -> list[OutboundCommand]:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            commands = writeback.payment_succeeded(payment)
        for command in commands:
            command.refresh_from_db()
        return commands

    return written


def test_a_payment_taken_in_arbridge_is_written_to_quickbooks(qbo, company, books, written):
    invoice = local(books["first"])
    payment = take_payment((invoice, "150.00"))

    [command] = written(payment)

    assert command.status == OutboundCommand.Status.DONE
    assert command.idempotency_key == f"qbo-payment-{payment.pk}-{qbo.pk}"
    [remote] = company.payments_of(books["first"]["Id"])
    assert Decimal(remote["TotalAmt"]) == Decimal("150.00")
    assert remote["CustomerRef"]["value"] == books["customer"]["Id"]
    assert remote["Line"] == [
        {
            "Amount": Decimal("150.00"),
            "LinkedTxn": [{"TxnId": books["first"]["Id"], "TxnType": "Invoice"}],
        }
    ]
    assert Decimal(company.read("Invoice", books["first"]["Id"])["Balance"]) == 0
    ref = ExternalRef.objects.get(connection=qbo, entity="payment")
    assert (ref.local_id, ref.remote_id) == (payment.pk, remote["Id"])


def test_it_is_written_once_however_often_it_is_owed_or_sent(qbo, company, books, written):
    payment = take_payment((local(books["first"]), "150.00"))
    [command] = written(payment)

    # Owed again, and sent again as after a response lost on the way back.
    assert written(payment) == [command]
    OutboundCommand.objects.filter(pk=command.pk).update(
        status=OutboundCommand.Status.PENDING, next_attempt_at=clock.now()
    )
    outbox.deliver(command.pk)

    assert len(company.payments_of(books["first"]["Id"])) == 1
    assert OutboundCommand.objects.count() == 1
    assert ExternalRef.objects.filter(entity="payment").count() == 1


def test_a_payment_of_two_invoices_is_one_quickbooks_payment_with_a_line_each(
    company, books, written
):
    payment = take_payment((local(books["first"]), "150.00"), (local(books["second"]), "30.00"))

    written(payment)

    [remote] = company.payments_of(books["second"]["Id"])
    assert Decimal(remote["TotalAmt"]) == Decimal("180.00")
    lines = {line["LinkedTxn"][0]["TxnId"]: line["Amount"] for line in remote["Line"]}
    assert lines == {
        books["first"]["Id"]: Decimal("150.00"),
        books["second"]["Id"]: Decimal("30.00"),
    }
    assert Decimal(company.read("Invoice", books["second"]["Id"])["Balance"]) == Decimal("50.00")


def test_quickbooks_reporting_the_written_payment_back_changes_nothing(
    company, books, written, deliver
):
    invoice = local(books["first"])
    payment = take_payment((invoice, "60.00"))
    written(payment)

    deliver()  # the payment, and the invoice it paid, come back by webhook

    assert Payment.objects.get() == payment
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("90.00")
    assert not ExceptionItem.objects.exists()


def test_a_payment_found_in_quickbooks_is_never_written_back_to_it(company, books, deliver):
    company.pay(books["first"], "150.00")
    deliver()
    payment = Payment.objects.get()
    assert payment.origin == Payment.Origin.EXTERNAL

    assert writeback.payment_succeeded(payment) == []
    assert len(company.payments_of(books["first"]["Id"])) == 1


def test_an_unsettled_payment_is_refused(books):
    payment = Payment.objects.create(
        partner_id=local(books["first"]).partner_id, amount=Decimal("10.00")
    )

    with pytest.raises(ValueError, match="not succeeded"):
        writeback.payment_succeeded(payment)


def test_a_refunded_payment_is_deleted_in_quickbooks(
    qbo, company, books, written, deliver, django_capture_on_commit_callbacks
):
    invoice = local(books["first"])
    payment = take_payment((invoice, "150.00"))
    written(payment)

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        payment.set_status(Payment.Status.REFUNDED)
        [command] = writeback.payment_reversed(payment)

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE
    assert company.payments_of(books["first"]["Id"]) == []
    assert Decimal(company.read("Invoice", books["first"]["Id"])["Balance"]) == Decimal("150.00")
    assert ExternalRef.objects.get(connection=qbo, entity="payment").deleted_at is not None

    deliver()  # QuickBooks reports the delete it was asked for: nothing to look at

    assert not ExceptionItem.objects.exists()
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("150.00")


def test_a_payment_reversed_before_its_write_is_deleted_once_written(
    company, books, django_capture_on_commit_callbacks
):
    payment = take_payment((local(books["first"]), "150.00"))
    with django_capture_on_commit_callbacks():  # the create's job is not run yet
        [create] = writeback.payment_succeeded(payment)
    payment.set_status(Payment.Status.REFUNDED)

    assert writeback.payment_reversed(payment) == []  # nothing to delete until it is written
    outbox.deliver(create.pk)
    assert len(company.payments_of(books["first"]["Id"])) == 1

    with django_capture_on_commit_callbacks(execute=True):
        assert writeback.owe_reversals() == 1
    assert writeback.owe_reversals() == 0

    assert company.payments_of(books["first"]["Id"]) == []
    delete = OutboundCommand.objects.get(action="delete_payment")
    assert delete.status == OutboundCommand.Status.DONE


# -- deposits -------------------------------------------------------------------------------


@pytest.fixture
def accounts(company) -> dict:
    return {
        "bank": company.account("Business Checking", "Bank", "Checking"),
        "fees": company.account("Merchant Fees", "Expense", "BankCharges"),
    }


@pytest.fixture
def deposits_on(qbo, accounts):
    qbo.set_preferences(
        {
            "create_deposits": True,
            "deposit_account_id": accounts["bank"]["Id"],
            "fee_account_id": accounts["fees"]["Id"],
        }
    )


def test_deposits_are_off_by_default(qbo, company, books, written):
    payment = take_payment((local(books["first"]), "150.00"))
    written(payment)

    assert writeback.deposit_recorded(record_payout([payment], fees="4.65")) == []
    assert company.query("select * from Deposit") == []


def test_a_deposit_waits_for_its_payments_to_be_written(
    company, books, deposits_on, django_capture_on_commit_callbacks
):
    payment = take_payment((local(books["first"]), "150.00"))
    with django_capture_on_commit_callbacks():
        [create] = writeback.payment_succeeded(payment)
    deposit = record_payout([payment], fees="4.65")

    assert writeback.deposit_recorded(deposit) == []
    outbox.deliver(create.pk)
    with django_capture_on_commit_callbacks(execute=True):
        writeback.owe_deposits()

    [remote] = company.query("select * from Deposit")
    assert Decimal(remote["TotalAmt"]) == Decimal("145.35")
    assert OutboundCommand.objects.get(action="create_deposit").status == "done"


def test_a_deposit_with_a_payment_quickbooks_will_never_hold_is_an_exception(
    partner, qbo, company, books, deposits_on
):
    # An invoice made in arbridge is in no connection: its payment is written nowhere.
    customer = Customer.objects.create(partner=partner, name="Walk-in")
    own = Invoice.objects.create(
        partner=partner, customer=customer, number="A-1", issue_date=clock.today(), total=20
    )
    payment = take_payment((own, "20.00"))
    deposit = record_payout([payment], fees="0.88")

    assert writeback.deposit_recorded(deposit) == []
    assert writeback.deposit_recorded(deposit) == []

    item = ExceptionItem.objects.get()
    assert item.kind == ExceptionItem.Kind.WRITE_FAILED
    assert (item.entity, item.local_id, item.connection) == ("deposit", deposit.pk, qbo)
    assert f"Payments {payment.pk}" in item.reason
    assert company.query("select * from Deposit") == []
