"""NetSuite on the Django side: what arbridge writes back, what it renders, what it shows."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client

from arbridge.integrations import writeback
from arbridge.integrations.models import ExternalRef, OutboundCommand
from arbridge.ledger.models import Invoice, Payment
from arbridge.portal.models import PortalLink
from tests.dashboard.test_psa_differences import column, row
from tests.integrations.qbo.fixtures import record_payout, take_payment

pytestmark = pytest.mark.django_db


def test_invoices_have_no_native_pdf_so_the_portal_renders_one(client, connected, acme_books, sync):
    acme_books.invoice(acme_books.customer("Globex", "ap@globex.example"), "100.00")
    sync(connected)
    invoice = Invoice.objects.get(connection=connected)
    portal = Client()
    assert portal.get(PortalLink.issue(invoice.customer).get_absolute_url()).status_code == 302

    rendered = portal.get(f"/portal/{connected.partner.slug}/invoices/{invoice.pk}/pdf/")
    native = client.get(f"/invoices/{invoice.pk}/pdf/")

    assert rendered.status_code == 200 and rendered["Content-Type"] == "application/pdf"
    assert rendered.content.startswith(b"%PDF")
    assert native.status_code == 404  # NetSuite's own PDF is not synced


def test_the_preferences_offer_the_account_s_chart_and_deposits_start_off(client, connected):
    page = client.get(f"/integrations/{connected.pk}/preferences/").content.decode()

    assert "Bank account for deposits" in page and "Checking" in page
    assert "Processing fee account" in page and "Merchant Fees" in page
    assert connected.preferences.get("create_deposits") in (None, False)


def test_a_returned_payment_is_deleted_in_netsuite_and_the_balance_comes_back(
    connected, acme_books, sync, django_capture_on_commit_callbacks
):
    remote = acme_books.invoice(acme_books.customer("Globex", "ap@globex.example"), "120.00")
    sync(connected)
    payment = take_payment((Invoice.objects.get(connection=connected), "120.00"))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        writeback.payment_succeeded(payment)
    assert acme_books.read("invoice", remote)["amountRemaining"] == Decimal("0")

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        payment.set_status(Payment.Status.RETURNED)
        [command] = writeback.payment_reversed(payment)

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE, command.last_error
    assert acme_books.read("invoice", remote)["amountRemaining"] == Decimal("120.00")
    assert acme_books.payments_of(remote) == []
    assert ExternalRef.objects.get(connection=connected, entity="payment").deleted_at is not None


def test_a_payout_is_one_deposit_with_its_fee_on_a_cash_back_line(
    client, connected, acme_books, sync, django_capture_on_commit_callbacks
):
    form = {
        "concurrency_limit": "5",
        "create_deposits": "on",
        "deposit_account_id": "1",
        "fee_account_id": "3",
    }
    response = client.post(f"/integrations/{connected.pk}/preferences/", form)
    assert response.status_code == 302, response.content
    globex = acme_books.customer("Globex", "ap@globex.example")
    first, second = acme_books.invoice(globex, "150.00"), acme_books.invoice(globex, "80.00")
    sync(connected)
    payments = [
        take_payment((Invoice.objects.get(number=f"INV{first}"), "150.00"), reference="p1"),
        take_payment((Invoice.objects.get(number=f"INV{second}"), "80.00"), reference="p2"),
    ]
    deposit = record_payout(payments, fees="6.97")

    with django_capture_on_commit_callbacks(execute=True):
        for payment in payments:
            writeback.payment_succeeded(payment)
    with django_capture_on_commit_callbacks(execute=True):
        [command] = writeback.deposit_recorded(deposit)

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE, command.last_error
    written = acme_books.read("deposit", ExternalRef.objects.get(entity="deposit").remote_id)
    assert written["account"]["id"] == "1"
    assert written["total"] == Decimal("223.03")  # what the bank received
    assert [(i["account"]["id"], i["amount"]) for i in written["cashBack"]["items"]] == [
        ("3", Decimal("6.97"))
    ]


def test_creating_deposits_needs_its_accounts(client, connected):
    form = {"concurrency_limit": "5", "create_deposits": "on"}

    response = client.post(f"/integrations/{connected.pk}/preferences/", form)

    assert response.status_code == 400
    assert "Choose the bank account." in response.content.decode()


def test_the_differences_page_says_what_the_seeds_say(client, connected):
    page = client.get("/integrations/differences/").content.decode()
    netsuite = column(page, "NetSuite")

    assert row(page, "Native PDF")[netsuite] == "No"  # "Does not support native PDF sync"
    assert row(page, "Records deposits")[netsuite] == "Yes"
    assert row(page, "Contacts synced")[netsuite] == "Billing contacts only"
    assert row(page, "Invoice Details")[netsuite] == "Hourly"
