"""Payments and credits from a source: external payments, write-back echoes, deletes."""

from decimal import Decimal

import pytest

from arbridge.core.models import Connection
from arbridge.integrations.models import ExceptionItem, ExternalRef
from arbridge.integrations.sync import apply_change, apply_changes
from arbridge.ledger.models import Credit, Customer, Invoice, Payment
from tests.integrations.test_sync_run import (
    credit,
    customer,
    deleted,
    invoice,
    payment,
    to_change,
)
from tests.integrations.test_sync_run import qbo as qbo  # noqa: F401 (fixtures)
from tests.integrations.test_sync_run import scripted as scripted  # noqa: F401


def apply(connection: Connection, entity: str, payload) -> str:
    return apply_change(connection, to_change(entity, payload))


@pytest.fixture
def inv(qbo) -> Invoice:
    apply(qbo, "customer", customer("1"))
    apply(qbo, "invoice", invoice("10", "1001", 150))
    return Invoice.objects.get()


def test_an_external_payment_settles_its_invoices(qbo, inv):
    apply(qbo, "invoice", invoice("11", "1002", 80))

    assert apply(qbo, "payment", payment("20", 100, {"10": 50, "11": 30})) == "created"

    paid = Payment.objects.get()
    assert (paid.origin, paid.status, paid.connection) == (
        Payment.Origin.EXTERNAL,
        Payment.Status.SUCCEEDED,
        qbo,
    )
    assert (paid.amount, paid.customer.name, paid.method) == (100, "Bluebird Dental", "check")
    assert dict(Invoice.objects.values_list("number", "balance")) == {
        "1001": Decimal("100.00"),
        "1002": Decimal("50.00"),
    }
    assert apply(qbo, "payment", payment("20", 100, {"10": 50, "11": 30})) == "unchanged"
    assert Payment.objects.count() == 1


def test_a_payment_arbridge_wrote_back_is_not_duplicated(qbo, inv):
    taken = Payment.objects.create(
        partner=qbo.partner, amount=60, status=Payment.Status.SUCCEEDED, customer=inv.customer
    )
    taken.allocate(inv, Decimal(60))
    # What the outbox records when QuickBooks accepts the write-back.
    ExternalRef.objects.create(
        partner=qbo.partner, connection=qbo, entity="payment", remote_id="20", local_id=taken.pk
    )

    outcomes = apply_changes(
        qbo,
        [
            to_change("invoice", invoice("10", "1001", 150, balance=90, version="1")),
            to_change("payment", payment("20", 60, {"10": 60})),
        ],
    )

    assert outcomes == ["updated", "unchanged"]
    assert list(Payment.objects.values_list("origin", flat=True)) == [Payment.Origin.ARBRIDGE]
    inv.refresh_from_db()
    assert (inv.balance, inv.status) == (90, Invoice.Status.PARTIALLY_PAID)


def test_an_external_payment_deleted_in_the_source_stops_paying(qbo, inv):
    apply(qbo, "payment", payment("20", 50, {"10": 50}))

    assert apply(qbo, "payment", deleted("20")) == "deleted"
    assert apply(qbo, "payment", deleted("20")) == "unchanged"

    paid = Payment.objects.get()
    assert paid.source_deleted_at is not None
    assert not paid.allocations.exists()
    inv.refresh_from_db()
    assert (inv.balance, inv.status) == (150, Invoice.Status.OPEN)


def test_arbridges_payment_deleted_in_the_source_is_an_exception(qbo, inv):
    taken = Payment.objects.create(
        partner=qbo.partner, amount=60, status=Payment.Status.SUCCEEDED, customer=inv.customer
    )
    taken.allocate(inv, Decimal(60))
    ExternalRef.objects.create(
        partner=qbo.partner, connection=qbo, entity="payment", remote_id="20", local_id=taken.pk
    )

    assert apply(qbo, "payment", deleted("20")) == "error"
    assert apply(qbo, "payment", deleted("20")) == "unchanged"

    assert taken.allocations.get().amount == 60
    item = ExceptionItem.objects.get()
    assert (item.kind, item.local_id) == (ExceptionItem.Kind.CONFLICT, taken.pk)


def test_a_corrected_payment_moves_its_money(qbo, inv):
    apply(qbo, "payment", payment("20", 50, {"10": 50}))

    assert apply(qbo, "payment", payment("20", 40, {"10": 40}, version="1")) == "updated"

    paid = Payment.objects.get()
    assert paid.amount == 40
    assert paid.allocations.get().amount == 40
    inv.refresh_from_db()
    assert inv.balance == 110


def test_a_payment_for_an_invoice_not_synced_is_unmatched(qbo, inv):
    assert apply(qbo, "payment", payment("20", 50, {"99": 50})) == "error"

    assert not Payment.objects.exists()
    item = ExceptionItem.objects.get()
    assert item.kind == ExceptionItem.Kind.UNMATCHED
    assert "99" in item.reason and '"Id": "20"' in item.raw_payload


def test_a_payment_before_its_invoice_in_one_batch_applies(qbo):
    outcomes = apply_changes(
        qbo,
        [
            to_change("payment", payment("20", 50, {"10": 50})),
            to_change("invoice", invoice("10", "1001", 150)),
            to_change("customer", customer("1")),
        ],
    )

    assert outcomes == ["created", "created", "created"]
    assert Invoice.objects.get().balance == 100
    assert Customer.objects.count() == 1


def test_a_void_waits_for_the_payment_unlinked_in_the_same_batch(qbo, inv):
    apply(qbo, "payment", payment("20", 50, {"10": 50}))
    voided = invoice("10", "1001", 0, version="1", lines=[])
    voided["PrivateNote"] = "Voided"

    outcomes = apply_changes(
        qbo,
        [to_change("invoice", voided), to_change("payment", payment("20", 50, {}, version="1"))],
    )

    assert outcomes == ["updated", "updated"]
    inv.refresh_from_db()
    assert inv.status == Invoice.Status.VOID
    assert Payment.objects.get().unapplied == 50
    assert not ExceptionItem.objects.exists()


def test_a_credit_reduces_the_balance_until_deleted(qbo, inv):
    assert apply(qbo, "credit", credit("30", "10", 20)) == "created"
    assert apply(qbo, "credit", credit("30", "10", 20)) == "unchanged"
    inv.refresh_from_db()
    assert inv.balance == 130

    assert apply(qbo, "credit", credit("30", "10", 25, version="1")) == "updated"
    inv.refresh_from_db()
    assert inv.balance == 125

    assert apply(qbo, "credit", deleted("30")) == "deleted"
    inv.refresh_from_db()
    assert inv.balance == 150
    assert not Credit.objects.exists()


def test_a_records_later_changes_wait_behind_one_that_must_retry(qbo, inv):
    # Without versions only the batch's order says which change is newer.
    first, second = payment("20", 50, {"99": 50}), payment("20", 40, {"10": 40})
    del first["SyncToken"], second["SyncToken"]

    outcomes = apply_changes(qbo, [to_change("payment", first), to_change("payment", second)])

    assert outcomes == ["error", "created"]
    assert Payment.objects.get().amount == 40
    assert ExceptionItem.objects.get().status == ExceptionItem.Status.RESOLVED
