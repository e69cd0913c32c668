"""Two writers at once: the second waits for the first's row locks, then sees its money.

Each test holds the first change's transaction open until the second is
waiting on a lock in PostgreSQL (or has finished without waiting, which is
the bug these tests catch), then commits it and lets the second go on.
SQLite takes one writer at a time, so the race only exists on PostgreSQL.
"""

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from arbridge.ledger.models import Credit, Invoice, LedgerError, Payment, PaymentAllocation
from tests.ledger.conftest import make_invoice, make_payment

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks matter with PostgreSQL only"
    ),
]

D = Decimal


def is_anyone_waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0


def race(first: Callable[[], object], second: Callable[[], object]) -> Exception | None:
    """Run both changes in the order described above; return what the second raised."""
    holding, release = threading.Event(), threading.Event()
    raised: list[Exception] = []

    def hold() -> None:
        try:
            with transaction.atomic():
                first()
                holding.set()
                release.wait(timeout=60)
        finally:
            holding.set()
            connections.close_all()

    def contend() -> None:
        try:
            second()
        except LedgerError as e:
            raised.append(e)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(timeout=60)
    contender = threading.Thread(target=contend)
    contender.start()
    while contender.is_alive() and not is_anyone_waiting_on_a_lock():
        contender.join(timeout=0.01)
    release.set()
    holder.join()
    contender.join()
    return raised[0] if raised else None


def test_one_payment_cannot_be_spent_twice(partner, customer):
    first, second = make_invoice(customer, "INV-1", "100"), make_invoice(customer, "INV-2", "100")
    payment = make_payment(partner, "100.00", status=Payment.Status.SUCCEEDED)

    refused = race(
        lambda: Payment.objects.get(pk=payment.pk).allocate(first, D("60")),
        lambda: Payment.objects.get(pk=payment.pk).allocate(second, D("60")),
    )

    assert isinstance(refused, LedgerError)
    assert list(PaymentAllocation.objects.values_list("invoice__number", "amount")) == [
        ("INV-1", D("60.00"))
    ]


def test_one_invoice_cannot_be_paid_twice(partner, invoice):
    payments = [make_payment(partner, "60.00", status=Payment.Status.SUCCEEDED) for _ in "ab"]

    refused = race(
        lambda: payments[0].allocate(Invoice.objects.get(pk=invoice.pk), D("60")),
        lambda: payments[1].allocate(Invoice.objects.get(pk=invoice.pk), D("60")),
    )

    assert isinstance(refused, LedgerError)
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (D("40.00"), "partially_paid")


def test_a_new_total_sees_a_credit_being_applied(invoice):
    refused = race(
        lambda: Credit.apply(Invoice.objects.get(pk=invoice.pk), D("60")),
        lambda: Invoice.objects.get(pk=invoice.pk).set_total(D("50")),
    )

    assert isinstance(refused, LedgerError)
    invoice.refresh_from_db()
    assert (invoice.total, invoice.balance) == (D("100.00"), D("40.00"))


def test_a_refund_and_a_source_balance_both_count(partner, invoice):
    payment = make_payment(partner, "100.00", status=Payment.Status.SUCCEEDED)
    payment.allocate(invoice, D("100"))

    refused = race(
        lambda: Payment.objects.get(pk=payment.pk).set_status(Payment.Status.REFUNDED),
        lambda: Invoice.objects.get(pk=invoice.pk).set_source_balance(D("30")),
    )

    assert refused is None
    invoice.refresh_from_db()
    # The source had seen no arbridge money succeed when it reported 30: it settled 70 itself.
    assert (invoice.balance, invoice.source_adjustment) == (D("30.00"), D("70.00"))
