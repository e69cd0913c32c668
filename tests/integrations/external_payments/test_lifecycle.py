"""A mirrored payment's life: redelivered, edited, deleted, split, entered twice, caught up."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from arbridge.core import clock
from arbridge.core.models import Connection
from arbridge.integrations import external_payments
from arbridge.integrations.models import ExternalRef, MirroredPayment
from arbridge.ledger.models import Payment

pytestmark = pytest.mark.django_db

State = MirroredPayment.State


@pytest.fixture
def billed(cw, books, quickbooks, connectwise, sync):
    """Invoice 1001 for 150.00, the same in both systems and linked to both in arbridge."""
    in_cw = cw.invoice("Globex Corporation", "150.00", "1001")
    in_qbo = books.invoice(books.customer("Globex Corporation"), "150.00", DocNumber="1001")
    sync(quickbooks)
    sync(connectwise)
    return in_cw, in_qbo


def test_a_payment_becomes_one_connectwise_payment_whatever_the_redeliveries(
    preferences, billed, books, cw, quickbooks, sync, reconcile, deliver, receiver
):
    in_cw, in_qbo = billed
    books.pay(in_qbo, "40.00")
    deliver()  # the webhook, applied by its job
    sync(quickbooks)  # and the daily sweep reads it again
    reconcile()
    receiver.holding = True
    deliver()
    for body, headers in receiver.deliveries:  # Intuit sends it all again
        receiver.client.post("/webhooks/qbo", body, content_type="application/json",
                             headers=headers)  # fmt: skip
    reconcile()

    [row] = MirroredPayment.objects.all()
    assert row.state == State.MIRRORED
    date = Payment.objects.get().date.isoformat()
    assert cw.payments(in_cw) == [(Decimal("40.00"), date)]
    assert ExternalRef.objects.filter(connection__kind="connectwise", entity="payment").count() == 1


def test_an_edited_payment_is_followed(preferences, billed, books, cw, quickbooks, sync, reconcile):
    in_cw, in_qbo = billed
    paid = books.pay(in_qbo, "40.00")
    sync(quickbooks)
    reconcile()

    books.update(
        "Payment", paid["Id"], TotalAmt=Decimal("55.00"), TxnDate="2026-02-27",
        Line=[{"Amount": Decimal("55.00"),
               "LinkedTxn": [{"TxnId": in_qbo["Id"], "TxnType": "Invoice"}]}],
    )  # fmt: skip
    sync(quickbooks)
    reconcile()

    assert cw.payments(in_cw) == [(Decimal("55.00"), "2026-02-27")]
    [row] = MirroredPayment.objects.all()
    assert (row.state, row.revision) == (State.MIRRORED, 1)


def test_a_deleted_payment_is_deleted_in_connectwise(
    preferences, billed, books, cw, quickbooks, sync, reconcile
):
    in_cw, in_qbo = billed
    paid = books.pay(in_qbo, "40.00")
    sync(quickbooks)
    reconcile()
    assert len(cw.payments(in_cw)) == 1

    books.delete("Payment", paid["Id"])
    sync(quickbooks)
    reconcile()

    assert cw.payments(in_cw) == []
    [row] = MirroredPayment.objects.all()
    assert row.state == State.REMOVED


def test_a_payment_entered_by_hand_in_connectwise_is_linked_not_doubled(
    preferences, billed, books, cw, quickbooks, sync, reconcile, client, alice
):
    in_cw, in_qbo = billed
    books.pay(in_qbo, "40.00")
    sync(quickbooks)
    date = Payment.objects.get().date
    cw.pay(in_cw, "40.00", date)
    reconcile()

    assert cw.payments(in_cw) == [(Decimal("40.00"), date.isoformat())]
    [row] = MirroredPayment.objects.all()
    assert row.state == State.LINKED
    client.force_login(alice)
    page = client.get(f"/invoices/{row.invoice_id}/").content.decode()
    assert "Linked to a payment entered in ConnectWise" in page


@pytest.fixture
def two_billed(cw, books, quickbooks, connectwise, sync):
    """Globex's invoices 1001 for 100.00 and 1002 for 80.00, the same in both systems."""
    globex = books.customer("Globex Corporation")
    pairs = [
        (
            cw.invoice("Globex Corporation", total, number),
            books.invoice(globex, total, DocNumber=number),
        )
        for number, total in (("1001", "100.00"), ("1002", "80.00"))
    ]
    sync(quickbooks)
    sync(connectwise)
    return globex, pairs


def test_a_payment_split_across_invoices_is_one_connectwise_payment_per_invoice(
    preferences, two_billed, books, quickbooks, cw, sync, reconcile
):
    globex, [(first_cw, first), (second_cw, second)] = two_billed
    paid = [(first, "100.00"), (second, "30.00")]
    lines = [
        {"Amount": Decimal(amount), "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
        for invoice, amount in paid
    ]
    body = {"CustomerRef": {"value": globex["Id"]}, "TotalAmt": Decimal("130.00"), "Line": lines}
    books.post("Payment", body)
    sync(quickbooks)
    reconcile()

    date = Payment.objects.get().date.isoformat()
    assert cw.payments(first_cw) == [(Decimal("100.00"), date)]
    assert cw.payments(second_cw) == [(Decimal("30.00"), date)]
    assert MirroredPayment.objects.filter(state=State.MIRRORED).count() == 2


def test_a_payment_moved_to_another_invoice_hours_later_is_followed(
    preferences, two_billed, books, quickbooks, cw, sync, reconcile
):
    _, [(first_cw, first), (second_cw, second)] = two_billed
    paid = books.pay(first, "40.00")
    sync(quickbooks)
    reconcile()
    start = clock.now()
    with time_machine.travel(start + dt.timedelta(hours=2), tick=True):
        reconcile()  # passes go on; the payment is settled, not looked at again

    # The same amount on the same date, applied to the other invoice instead.
    with time_machine.travel(start + dt.timedelta(hours=4), tick=True):
        line = {"Amount": Decimal("40.00"),
                "LinkedTxn": [{"TxnId": second["Id"], "TxnType": "Invoice"}]}  # fmt: skip
        books.update("Payment", paid["Id"], Line=[line])
        sync(quickbooks)
        reconcile()

    date = Payment.objects.get().date.isoformat()
    assert cw.payments(first_cw) == []
    assert cw.payments(second_cw) == [(Decimal("40.00"), date)]


def test_a_disconnected_integration_stops_syncing_and_it_catches_up_after(
    partner, preferences, billed, books, cw, quickbooks, connectwise, sync, reconcile
):
    in_cw, in_qbo = billed
    Connection.objects.filter(pk=connectwise.pk).update(status=Connection.Status.DISCONNECTED)
    books.pay(in_qbo, "40.00")
    sync(quickbooks)
    reconcile()

    [row] = MirroredPayment.objects.all()
    assert (row.state, row.reason) == (State.SKIPPED, MirroredPayment.Reason.DISCONNECTED)
    assert cw.payments(in_cw) == []
    assert "ConnectWise PSA integration is disconnected" in external_payments.stopped_because(
        partner.pk
    )

    Connection.objects.filter(pk=connectwise.pk).update(status=Connection.Status.CONNECTED)
    reconcile()

    row.refresh_from_db()
    assert row.state == State.MIRRORED
    assert [amount for amount, _ in cw.payments(in_cw)] == [Decimal("40.00")]
    assert external_payments.stopped_because(partner.pk) == ""


def test_a_sync_batch_triggers_the_pass(
    preferences, billed, books, cw, quickbooks, sync, django_capture_on_commit_callbacks
):
    in_cw, in_qbo = billed
    books.pay(in_qbo, "40.00")
    with django_capture_on_commit_callbacks(execute=True):
        sync(quickbooks)

    assert MirroredPayment.objects.get().state in (State.OWED, State.MIRRORED)
    assert [amount for amount, _ in cw.payments(in_cw)] == [Decimal("40.00")]
