"""What happens in a partner's receivables becomes events, once each, for who wants them."""

import datetime as dt
from decimal import Decimal

import time_machine

from arbridge.core.models import Connection
from arbridge.hooks import capture
from arbridge.hooks.models import Delivery, Endpoint, Event, new_secret
from arbridge.integrations.models import ExceptionItem, SyncRun
from arbridge.ledger.models import Customer, Deposit, DepositLine, Invoice, Payment

NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def bill(partner, number="INV-1", total="100.00") -> Invoice:
    customer, _ = Customer.objects.get_or_create(partner=partner, name="Globex")
    return Invoice.objects.create(
        partner=partner,
        customer=customer,
        number=number,
        issue_date=dt.date(2026, 12, 1),
        due_date=dt.date(2026, 12, 31),
        total=Decimal(total),
    )


def pay(invoice: Invoice, amount: str) -> Payment:
    payment = Payment.objects.create(
        partner_id=invoice.partner_id, customer=invoice.customer, amount=Decimal(amount)
    )
    payment.allocate(invoice, Decimal(amount))
    payment.set_status(Payment.Status.SUCCEEDED)
    return payment


def types(partner) -> list[str]:
    return sorted(Event.objects.for_partner(partner).values_list("type", flat=True))


def test_an_invoice_paid_in_full_is_created_paid_and_its_payment_succeeded(partner, endpoint):
    with time_machine.travel(NOW, tick=False):
        capture.capture(partner.pk)  # the endpoint's first look: nothing before it counts
    with time_machine.travel(NOW + dt.timedelta(minutes=1), tick=False):
        invoice = bill(partner)
        pay(invoice, "100.00")
        assert capture.capture(partner.pk) == 3

    # Billed and paid in the same instant: no update between the two.
    assert types(partner) == ["invoice.created", "invoice.paid", "payment.succeeded"]
    paid = Event.objects.get(type="invoice.paid")
    assert paid.data["number"] == "INV-1"
    assert (paid.data["total"], paid.data["balance"], paid.data["status"]) == (
        "100.00",
        "0.00",
        "paid",
    )
    payment = Event.objects.get(type="payment.succeeded").data
    assert payment["amount"] == "100.00"
    assert payment["invoices"] == [{"id": invoice.pk, "number": "INV-1", "amount": "100.00"}]
    assert Delivery.objects.filter(endpoint=endpoint).count() == 3


def test_an_invoice_changed_later_is_updated_once_per_change(partner, endpoint):
    with time_machine.travel(NOW, tick=False):
        capture.capture(partner.pk)
        invoice = bill(partner)
    with time_machine.travel(NOW + dt.timedelta(minutes=1), tick=False):
        pay(invoice, "30.00")
        capture.capture(partner.pk)
        capture.capture(partner.pk)

    [updated] = Event.objects.filter(type="invoice.updated")
    assert (updated.data["balance"], updated.data["status"]) == ("70.00", "partially_paid")


def test_reading_the_same_changes_again_makes_no_second_event(partner, endpoint):
    with time_machine.travel(NOW, tick=False):
        capture.capture(partner.pk)
    with time_machine.travel(NOW + dt.timedelta(minutes=1), tick=False):
        pay(bill(partner), "40.00")
        capture.capture(partner.pk)
    # Within the overlap the same rows are read again; and once more as the clock moves on.
    for minutes in (2, 3, 30):
        with time_machine.travel(NOW + dt.timedelta(minutes=minutes), tick=False):
            assert capture.capture(partner.pk) == 0

    assert types(partner) == ["invoice.created", "payment.succeeded"]
    assert Delivery.objects.count() == 2


def test_a_row_committed_late_with_an_earlier_time_is_still_seen(partner, endpoint):
    with time_machine.travel(NOW, tick=False):
        capture.capture(partner.pk)
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        capture.capture(partner.pk)
        # A sync batch that began at minute 2 commits only now.
        late = bill(partner, "INV-LATE")
        Invoice.objects.filter(pk=late.pk).update(
            created_at=NOW + dt.timedelta(minutes=2), updated_at=NOW + dt.timedelta(minutes=2)
        )
    with time_machine.travel(NOW + dt.timedelta(minutes=6), tick=False):
        assert capture.capture(partner.pk) == 1

    assert Event.objects.get().data["number"] == "INV-LATE"


def test_nothing_before_the_first_endpoint_is_an_event(partner, receiver):
    with time_machine.travel(NOW - dt.timedelta(minutes=3), tick=False):
        bill(partner, "INV-OLD")
    with time_machine.travel(NOW, tick=False):
        Endpoint.objects.create(
            partner=partner, url=receiver.url, events=["invoice.created"],
            secrets={"current": new_secret()},
        )  # fmt: skip
        capture.capture(partner.pk)
    with time_machine.travel(NOW + dt.timedelta(minutes=1), tick=False):
        bill(partner, "INV-NEW")
        capture.capture(partner.pk)

    assert [e.data["number"] for e in Event.objects.all()] == ["INV-NEW"]


def test_each_endpoint_gets_only_the_events_it_picked(partner, receiver):
    invoices_only = Endpoint.objects.create(
        partner=partner, url=receiver.url, events=["invoice.created"],
        secrets={"current": new_secret()},
    )  # fmt: skip
    payments_only = Endpoint.objects.create(
        partner=partner, url=receiver.url, events=["payment.succeeded", "payment.refunded"],
        secrets={"current": new_secret()},
    )  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        capture.capture(partner.pk)
    with time_machine.travel(NOW + dt.timedelta(minutes=1), tick=False):
        payment = pay(bill(partner), "100.00")
        payment.set_status(Payment.Status.REFUNDED)
        capture.capture(partner.pk)

    def got(endpoint):
        return sorted(d.event.type for d in Delivery.objects.filter(endpoint=endpoint))

    assert got(invoices_only) == ["invoice.created"]
    # The refund came before the capture looked: the payment is seen refunded.
    assert got(payments_only) == ["payment.refunded"]


def test_deposits_exceptions_failed_syncs_and_archived_invoices(partner, endpoint):
    connection = Connection.objects.create(partner=partner, kind="qbo", name="Books")
    with time_machine.travel(NOW, tick=False):
        capture.capture(partner.pk)
    with time_machine.travel(NOW + dt.timedelta(minutes=1), tick=False):
        invoice = bill(partner, "INV-9")
        invoice.archive()
        deposit = Deposit.objects.create(partner=partner, amount=Decimal("97.00"))
        DepositLine.objects.create(
            partner=partner, deposit=deposit, kind=DepositLine.Kind.FEE, amount=Decimal("-3.00")
        )
        ExceptionItem.objects.create(
            partner=partner, connection=connection, kind=ExceptionItem.Kind.UNMATCHED,
            title="Unmatched payment",
        )  # fmt: skip
        SyncRun.objects.create(
            partner=partner, connection=connection, status=SyncRun.Status.FAILED,
            error_message="401 Unauthorized", finished_at=NOW + dt.timedelta(minutes=1),
        )  # fmt: skip
        capture.capture(partner.pk)

    by_type = {e.type: e.data for e in Event.objects.all()}
    assert by_type["invoice.archived"]["archived"] is True
    assert (by_type["deposit.recorded"]["amount"], by_type["deposit.recorded"]["fees"]) == (
        "97.00",
        "3.00",
    )
    assert by_type["exception.opened"]["title"] == "Unmatched payment"
    assert by_type["sync.failed"]["error"] == "401 Unauthorized"
    assert by_type["sync.failed"]["connection"] == {"id": connection.pk, "name": "Books"}


def test_a_partner_never_gets_another_partners_events(partner, other_partner, endpoint):
    with time_machine.travel(NOW, tick=False):
        capture.capture(partner.pk)
        capture.capture(other_partner.pk)
    with time_machine.travel(NOW + dt.timedelta(minutes=1), tick=False):
        bill(other_partner, "THEIRS")
        capture.capture(partner.pk)
        capture.capture(other_partner.pk)  # it has no endpoint: nothing is recorded for it

    assert Event.objects.count() == 0
    assert Delivery.objects.count() == 0
