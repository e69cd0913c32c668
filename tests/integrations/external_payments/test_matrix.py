"""Which QuickBooks payments become ConnectWise payments: every mode, invoice and origin.

A payment is mirrored only when it was recorded outside arbridge, the sync
mode lets its invoice through, and the invoice is the same in both systems.
"""

from decimal import Decimal

import pytest
from django.db import transaction

from arbridge.integrations import sync_tool, writeback
from arbridge.integrations.models import (
    ExceptionItem,
    IntegrationPreferences,
    MirroredPayment,
    OutboundCommand,
    SyncedInvoice,
)
from arbridge.integrations.tasks import retry_exception
from arbridge.ledger.models import Invoice, Payment
from tests.integrations.qbo.fixtures import take_payment

pytestmark = pytest.mark.django_db

Mode = IntegrationPreferences.Mode
Reason = MirroredPayment.Reason


def bill_with_the_sync_tool(partner, cw, books, quickbooks, connectwise, sync, capture):
    """Bill in ConnectWise, then copy the invoice into QuickBooks with the Sync Tool."""
    in_cw = cw.invoice("Globex Corporation", "150.00", "1001")
    preferences = IntegrationPreferences.for_partner_of(partner.pk)
    preferences.sync_tool_item_id = books.find("Item", Name="Services")[0]["Id"]
    preferences.save()
    with capture(execute=True):
        [outcome] = sync_tool.sync_invoices(partner.pk, [str(in_cw["id"])])
    outcome.synced.command.refresh_from_db()
    assert outcome.synced.command.status == OutboundCommand.Status.DONE, outcome
    [in_qbo] = books.find("Invoice", DocNumber="1001")
    sync(quickbooks)
    return in_cw, in_qbo


def bill_in_both(cw, books, quickbooks, connectwise, sync):
    """Bill the same invoice in both systems by hand; QuickBooks is synced first."""
    in_cw = cw.invoice("Globex Corporation", "150.00", "1001")
    in_qbo = books.invoice(books.customer("Globex Corporation"), "150.00", DocNumber="1001")
    sync(quickbooks)
    sync(connectwise)
    return in_cw, in_qbo


@pytest.mark.parametrize("identical", [True, False], ids=["identical", "differing"])
@pytest.mark.parametrize("external", [True, False], ids=["external", "by-arbridge"])
@pytest.mark.parametrize("with_tool", [True, False], ids=["synced-with-tool", "not-synced"])
@pytest.mark.parametrize("mode", [Mode.DISABLED, Mode.ALL, Mode.SYNCED_ONLY])
def test_the_matrix(
    mode,
    with_tool,
    external,
    identical,
    partner,
    preferences,
    quickbooks,
    connectwise,
    cw,
    books,
    sync,
    reconcile,
    django_capture_on_commit_callbacks,
):
    capture = django_capture_on_commit_callbacks
    if with_tool:
        in_cw, in_qbo = bill_with_the_sync_tool(
            partner, cw, books, quickbooks, connectwise, sync, capture
        )
    else:
        in_cw, in_qbo = bill_in_both(cw, books, quickbooks, connectwise, sync)
    if not identical:
        cw.change(in_cw, total=Decimal("175.00"))
    preferences.refresh_from_db()
    preferences.sync_tool_in_use, preferences.sync_mode = True, mode
    preferences.save()
    invoice = Invoice.objects.get(number="1001")

    if external:
        books.pay(in_qbo, "40.00")
    else:
        payment = take_payment((invoice, "40.00"))
        with capture(execute=True), transaction.atomic():
            writeback.payment_succeeded(payment)
    sync(quickbooks)
    reconcile()

    mirrored = external and identical and mode != Mode.DISABLED
    mirrored = mirrored and (mode != Mode.SYNCED_ONLY or with_tool)
    ours = OutboundCommand.objects.filter(idempotency_key__contains="-extpay-")
    if mirrored:
        [row] = MirroredPayment.objects.all()
        assert row.state == MirroredPayment.State.MIRRORED
        assert cw.payments(in_cw) == [(Decimal("40.00"), row.date.isoformat())]
        assert ours.count() == 1
        return
    assert not ours.exists()
    if not external:
        assert not MirroredPayment.objects.exists()
        return
    [row] = MirroredPayment.objects.all()
    assert row.state == MirroredPayment.State.SKIPPED
    if mode == Mode.DISABLED:
        assert row.reason == Reason.MODE
    elif mode == Mode.SYNCED_ONLY and not with_tool:
        assert row.reason == Reason.NOT_SYNCED_WITH_TOOL
    else:
        assert row.reason == Reason.INVOICES_DIFFER
        assert "150.00 in QuickBooks Online, 175.00 in ConnectWise PSA" in row.detail
    assert cw.payments(in_cw) == []


def test_without_the_sync_tool_every_invoice_syncs_whatever_the_mode(
    partner, preferences, quickbooks, connectwise, cw, books, sync, reconcile
):
    in_cw, in_qbo = bill_in_both(cw, books, quickbooks, connectwise, sync)
    preferences.sync_mode = Mode.SYNCED_ONLY  # saved earlier, before the tool was given up
    preferences.save()

    books.pay(in_qbo, "150.00")
    sync(quickbooks)
    reconcile()

    assert not SyncedInvoice.objects.exists()
    assert [amount for amount, _ in cw.payments(in_cw)] == [Decimal("150.00")]


def test_turned_off_nothing_is_synced(
    partner, preferences, quickbooks, connectwise, cw, books, sync, reconcile
):
    in_cw, in_qbo = bill_in_both(cw, books, quickbooks, connectwise, sync)
    preferences.external_payments = False
    preferences.save()

    books.pay(in_qbo, "150.00")
    sync(quickbooks)
    reconcile()

    assert not MirroredPayment.objects.exists()
    assert cw.payments(in_cw) == []


def test_a_refused_write_is_shown_and_can_be_retried(
    partner,
    preferences,
    quickbooks,
    connectwise,
    cw,
    books,
    sync,
    reconcile,
    django_capture_on_commit_callbacks,
):
    in_cw, in_qbo = bill_in_both(cw, books, quickbooks, connectwise, sync)
    books.pay(in_qbo, "60.00")
    sync(quickbooks)
    cw.pay(in_cw, "100.00", Payment.objects.get().date)  # a different payment, by hand
    reconcile()  # ConnectWise refuses 60.00 on a balance of 50.00

    [row] = MirroredPayment.objects.all()
    assert (row.state, row.reason) == (MirroredPayment.State.SKIPPED, Reason.FAILED)
    assert "balance" in row.detail
    assert row.command.status == OutboundCommand.Status.DEAD
    [exception] = ExceptionItem.objects.filter(command=row.command)

    cw.call("DELETE", f"/finance/invoices/{in_cw['id']}/payments/1")
    with django_capture_on_commit_callbacks(execute=True):
        retry_exception(exception)
    reconcile()

    row.refresh_from_db()
    assert row.state == MirroredPayment.State.MIRRORED
    assert [amount for amount, _ in cw.payments(in_cw)] == [Decimal("60.00")]
