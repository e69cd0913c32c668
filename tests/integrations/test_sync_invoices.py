"""Invoices from a source: content, balances, order, deletes, unknown customers, numbers."""

from decimal import Decimal

import pytest

from arbridge.core.models import Connection
from arbridge.integrations.models import ExceptionItem, ExternalRef
from arbridge.integrations.sync import apply_change, apply_changes
from arbridge.ledger.models import Customer, Invoice, Payment
from tests.integrations.test_sync_run import (
    customer,
    deleted,
    invoice,
    payment,
    to_change,
)
from tests.integrations.test_sync_run import halo as halo  # noqa: F401 (fixtures)
from tests.integrations.test_sync_run import qbo as qbo  # noqa: F401
from tests.integrations.test_sync_run import scripted as scripted  # noqa: F401


def apply(connection: Connection, entity: str, payload) -> str:
    return apply_change(connection, to_change(entity, payload))


@pytest.fixture
def bluebird(qbo) -> Customer:
    apply(qbo, "customer", customer("1"))
    return Customer.objects.get(name="Bluebird Dental")


def test_it_creates_an_invoice_with_its_content(qbo, bluebird):
    payload = invoice("10", "1001", 150, lines=[("Monitoring", 100), ("Backup", 50)])
    payload["PrivateNote"] = "March services"

    assert apply(qbo, "invoice", payload) == "created"

    inv = Invoice.objects.get()
    assert (inv.number, inv.customer, inv.connection) == ("1001", bluebird, qbo)
    assert (str(inv.issue_date), str(inv.due_date), inv.memo) == (
        "2026-03-01",
        "2026-03-31",
        "March services",
    )
    assert (inv.total, inv.balance, inv.status) == (150, 150, Invoice.Status.OPEN)
    assert [line.description for line in inv.lines.all()] == ["Monitoring", "Backup"]
    ref = ExternalRef.objects.get(entity="invoice")
    assert (ref.remote_id, ref.local_id, ref.remote_version) == ("10", inv.pk, "0")


def test_applying_the_same_change_twice_changes_nothing(qbo, bluebird):
    change = to_change("invoice", invoice("10", "1001", 150, balance=100))
    apply_change(qbo, change)
    before = Invoice.objects.values().get()

    assert apply_change(qbo, change) == "unchanged"

    assert Invoice.objects.values().get() == before
    assert Invoice.objects.get().lines.count() == 1
    assert ExternalRef.objects.filter(entity="invoice").count() == 1


def test_the_source_replaces_content_and_lines(qbo, bluebird):
    apply(qbo, "invoice", invoice("10", "1001", 150, lines=[("Monitoring", 150)]))

    changed = invoice(
        "10", "1001-A", 175, version="1", lines=[("Monitoring", 150), ("Onsite visit", 25)]
    )
    changed["DueDate"] = "2026-04-15"
    assert apply(qbo, "invoice", changed) == "updated"

    inv = Invoice.objects.get()
    assert (inv.number, str(inv.due_date), inv.total, inv.balance) == (
        "1001-A",
        "2026-04-15",
        175,
        175,
    )
    assert list(inv.lines.values_list("description", "amount")) == [
        ("Monitoring", Decimal("150.00")),
        ("Onsite visit", Decimal("25.00")),
    ]


def test_an_older_change_is_ignored_by_update_time(qbo, bluebird):
    apply(qbo, "invoice", invoice("10", "1001", 200, version="5", at=30))

    assert apply(qbo, "invoice", invoice("10", "1001", 150, version="6", at=10)) == "unchanged"

    assert Invoice.objects.get().total == 200


def test_an_older_change_is_ignored_by_version_without_times(qbo, bluebird):
    apply(qbo, "invoice", invoice("10", "1001", 200, version="12"))

    assert apply(qbo, "invoice", invoice("10", "1001", 150, version="9")) == "unchanged"
    assert apply(qbo, "invoice", invoice("10", "1001", 250, version="13")) == "updated"

    assert Invoice.objects.get().total == 250


def test_out_of_order_changes_in_one_batch_end_at_the_newest(qbo, bluebird):
    changes = [
        to_change("invoice", invoice("10", "1001", 300, version="3", at=3)),
        to_change("invoice", invoice("10", "1001", 100, version="1", at=1)),
        to_change("invoice", invoice("10", "1001", 200, version="2", at=2)),
    ]

    assert apply_changes(qbo, changes) == ["created", "unchanged", "unchanged"]

    assert Invoice.objects.get().total == 300


def test_a_lower_source_balance_reduces_ours(qbo, bluebird):
    apply(qbo, "invoice", invoice("10", "1001", 150))

    # A partial payment recorded in the source, which the connector reports as a balance.
    apply(qbo, "invoice", invoice("10", "1001", 150, balance=90, version="1"))

    inv = Invoice.objects.get()
    assert (inv.balance, inv.status) == (90, Invoice.Status.PARTIALLY_PAID)


def test_a_higher_source_balance_does_not_raise_ours(qbo, bluebird):
    apply(qbo, "invoice", invoice("10", "1001", 150))
    inv = Invoice.objects.get()
    taken = Payment.objects.create(
        partner=qbo.partner, amount=60, status=Payment.Status.SUCCEEDED, customer=bluebird
    )
    taken.allocate(inv, Decimal(60))

    # The source has not seen arbridge's payment yet: its balance is still the total.
    apply(qbo, "invoice", invoice("10", "1001", 150, memo="x", version="1"))

    inv.refresh_from_db()
    assert (inv.balance, inv.status) == (90, Invoice.Status.PARTIALLY_PAID)


def test_a_voided_invoice_is_voided(qbo, bluebird):
    apply(qbo, "invoice", invoice("10", "1001", 150))

    voided = invoice("10", "1001", 0, version="1", lines=[("Monitoring", 0)])
    voided["PrivateNote"] = "Voided"
    assert apply(qbo, "invoice", voided) == "updated"

    inv = Invoice.objects.get()
    assert (inv.status, inv.balance) == (Invoice.Status.VOID, 0)
    assert inv.voided_at is not None


def test_a_total_below_arbridges_payments_is_a_conflict(qbo, bluebird):
    apply(qbo, "invoice", invoice("10", "1001", 150))
    inv = Invoice.objects.get()
    taken = Payment.objects.create(
        partner=qbo.partner, amount=120, status=Payment.Status.SUCCEEDED, customer=bluebird
    )
    taken.allocate(inv, Decimal(120))

    shrunk = invoice("10", "1001", 100, version="1")
    assert apply(qbo, "invoice", shrunk) == "error"

    inv.refresh_from_db()
    assert (inv.total, inv.balance) == (150, 30)
    item = ExceptionItem.objects.get()
    assert item.kind == ExceptionItem.Kind.CONFLICT
    assert "below" in item.reason and item.raw_payload
    assert (item.entity, item.remote_id, item.local_id) == ("invoice", "10", inv.pk)

    # The source is corrected: the exception resolves itself.
    assert apply(qbo, "invoice", invoice("10", "1001", 140, version="2")) == "updated"
    item.refresh_from_db()
    assert item.status == ExceptionItem.Status.RESOLVED


def test_an_invoice_without_a_customer_belongs_to_the_unknown_customer(qbo):
    apply(qbo, "invoice", invoice("10", "1001", 150, customer=None))
    apply(qbo, "invoice", invoice("11", "1002", 90, customer=None))

    unknown = Customer.objects.unknown_for_connection(qbo)
    assert unknown.is_unknown
    assert set(Invoice.objects.values_list("customer", flat=True)) == {unknown.pk}


def test_an_invoice_before_its_customer_gets_a_placeholder_the_customer_fills_in(qbo):
    assert apply(qbo, "invoice", invoice("10", "1001", 150, customer="7")) == "created"
    placeholder = Invoice.objects.get().customer
    assert "7" in placeholder.name

    assert apply(qbo, "customer", customer("7", "Harbor Legal")) == "updated"

    assert Invoice.objects.get().customer.name == "Harbor Legal"
    assert Customer.objects.count() == 1


def test_deleted_in_qbo_archives_the_invoice(qbo, bluebird):
    apply(qbo, "invoice", invoice("10", "1001", 150))

    assert apply(qbo, "invoice", deleted("10")) == "deleted"
    assert apply(qbo, "invoice", deleted("10")) == "unchanged"

    inv = Invoice.objects.get()
    assert inv.archived and inv.source_deleted_at is not None


def test_deleted_in_halo_is_only_marked_for_a_person(halo):
    apply(halo, "invoice", invoice("10", "1001", 150))

    assert apply(halo, "invoice", deleted("10")) == "deleted"

    inv = Invoice.objects.get()
    assert not inv.archived
    assert inv.source_deleted_at is not None


def test_an_old_version_arriving_after_the_delete_does_not_undo_it(halo):
    apply(halo, "invoice", invoice("10", "1001", 150, version="1", at=1))
    apply(halo, "invoice", deleted("10", version="2", at=2))

    assert apply(halo, "invoice", invoice("10", "1001", 150, version="1", at=1)) == "unchanged"

    assert Invoice.objects.get().source_deleted_at is not None


def test_the_same_number_from_two_connections_is_one_invoice(qbo, halo):
    # The same customer in each: each connection keeps its own, matched by name.
    apply(halo, "customer", customer("c9"))
    apply(qbo, "customer", customer("1"))
    apply(halo, "invoice", invoice("H-1", "1001", 150, customer="c9"))

    assert apply(qbo, "invoice", invoice("10", "1001", 150)) == "updated"

    inv = Invoice.objects.get()
    assert inv.connection == halo
    refs = ExternalRef.objects.filter(entity="invoice", local_id=inv.pk)
    assert set(refs.values_list("connection", "remote_id")) == {(halo.pk, "H-1"), (qbo.pk, "10")}

    # The linked connection's payments reach it through its ref.
    apply(qbo, "payment", payment("20", 50, {"10": 50}))
    inv.refresh_from_db()
    assert inv.balance == 100

    # Its later versions change nothing the first connection owns.
    later = invoice("10", "1001", 150, balance=100, version="1")
    later["PrivateNote"] = "edited in QuickBooks"
    assert apply(qbo, "invoice", later) == "unchanged"
    assert Invoice.objects.get().memo == ""
    assert not ExceptionItem.objects.exists()


def test_the_same_number_with_different_totals_is_a_visible_conflict(qbo, halo):
    apply(halo, "invoice", invoice("H-1", "1001", 150))

    assert apply(qbo, "invoice", invoice("10", "1001", 120)) == "error"

    assert Invoice.objects.get().total == 150
    item = ExceptionItem.objects.get()
    assert item.kind == ExceptionItem.Kind.DUPLICATE_NUMBER
    assert "120.00" in item.reason and "150.00" in item.reason


def test_a_number_used_twice_in_one_source_is_refused_for_the_second(qbo, bluebird):
    outcomes = apply_changes(
        qbo,
        [
            to_change("invoice", invoice("10", "1001", 150)),
            to_change("invoice", invoice("11", "1001", 150)),
        ],
    )

    assert outcomes == ["created", "error"]
    assert Invoice.objects.count() == 1
    assert ExceptionItem.objects.get().kind == ExceptionItem.Kind.DUPLICATE_NUMBER


def test_an_unreadable_amount_is_quarantined(qbo, bluebird):
    assert apply(qbo, "invoice", invoice("10", "1001", -5)) == "error"

    item = ExceptionItem.objects.get()
    assert item.kind == ExceptionItem.Kind.MALFORMED_RECORD
    assert "negative" in item.reason
    assert not Invoice.objects.exists()
