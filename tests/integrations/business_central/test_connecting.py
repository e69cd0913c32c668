"""Business Central on the Django side: consent, subscriptions, notifications, catching up."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client

from arbridge.core.models import Partner
from arbridge.integrations import tasks, writeback
from arbridge.integrations.models import Connection, ExternalRef, OutboundCommand, WebhookEvent
from arbridge.integrations.tasks import perform_sync
from arbridge.ledger.models import Invoice, Payment
from arbridge.portal.models import PortalLink
from tests.integrations.business_central.conftest import KIND, come_back, consent
from tests.integrations.qbo.fixtures import record_payout, take_payment

pytestmark = pytest.mark.django_db
# The sandbox's subscription handshake reaches arbridge from the loopback server's thread,
# which sees only what the test has committed.
handshaking = pytest.mark.django_db(transaction=True)


def test_connecting_stores_the_token_and_the_company(client, alice, acme_books):
    client.force_login(alice)
    callback = consent(client, acme_books.account.split("/")[0])
    assert callback.path == f"/integrations/{KIND}/callback/"

    response = come_back(client, callback)

    connection = Connection.objects.get(kind=KIND)
    assert response["Location"] == f"/integrations/{connection.pk}/"
    assert (connection.status, connection.remote_account) == ("connected", acme_books.account)
    assert connection.credentials["token"]["refresh_token"]


def test_a_tenant_with_two_companies_asks_which(client, alice, bc, acme_books):
    tenant = acme_books.account.split("/")[0]
    other = "/".join(bc.store.add_company(tenant, "sandbox", "Acme Test Books"))
    client.force_login(alice)

    response = come_back(client, consent(client, tenant))

    connection = Connection.objects.get(kind=KIND)
    assert response["Location"] == f"/integrations/{connection.pk}/account/"
    page = client.get(response["Location"]).content.decode()
    assert "Acme IT (production)" in page and "Acme Test Books (sandbox)" in page
    client.post(response["Location"], {"account": other})
    connection.refresh_from_db()
    assert (connection.status, connection.remote_account) == ("connected", other)


def run_requested(runs) -> None:
    for run in runs:
        perform_sync(run.pk)


@handshaking
def test_the_job_subscribes_with_a_handshake_and_notifications_update_invoices(
    connected, acme_books, bc, sync, clock, django_capture_on_commit_callbacks
):
    invoice = acme_books.invoice(acme_books.customer("Globex", "ap@globex.example"), "100.00")
    sync(connected)

    runs = tasks.renew_subscriptions()

    connected.refresh_from_db()
    assert len(connected.credentials["subscriptions"]) == 3
    assert bc.notifier.handshakes == 3 and len(acme_books.subscriptions()) == 3
    assert {s["clientState"] for s in acme_books.subscriptions()} == {
        connected.credentials["webhook_secret"]
    }
    run_requested(runs)
    clock.shift(dt.timedelta(minutes=5))
    acme_books.change(invoice["id"], "140.00")
    with django_capture_on_commit_callbacks(execute=True):
        assert bc.flush_webhooks() == 1

    assert WebhookEvent.objects.filter(connection=connected).count() == 1
    assert Invoice.objects.get(connection=connected).total == 140


@handshaking
def test_subscriptions_are_renewed_not_made_again_within_their_three_days(
    connected, acme_books, bc, clock
):
    tasks.renew_subscriptions()
    made = {s["subscriptionId"]: s["expirationDateTime"] for s in acme_books.subscriptions()}

    clock.shift(dt.timedelta(hours=36))
    runs = tasks.renew_subscriptions()

    after = {s["subscriptionId"]: s["expirationDateTime"] for s in acme_books.subscriptions()}
    assert set(after) == set(made) and runs == []
    assert all(after[id] > made[id] for id in made)


@handshaking
def test_a_lapsed_subscription_is_made_again_and_the_gap_caught_up(
    connected, acme_books, bc, clock, sync, receiver
):
    customer = acme_books.customer("Globex", "ap@globex.example")
    tasks.renew_subscriptions()
    sync(connected)
    clock.shift(dt.timedelta(days=4))  # the worker was down: nothing renewed them
    missed = acme_books.invoice(customer, "75.00")
    assert bc.flush_webhooks() == 0  # a lapsed subscription sends nothing

    runs = tasks.renew_subscriptions()
    run_requested(runs)

    assert len(runs) == 1
    assert Invoice.objects.get(connection=connected, number=missed["number"]).total == 75


@handshaking
def test_a_notification_meant_for_another_partner_is_refused(client, connected, acme_books, bc):
    tasks.renew_subscriptions()
    globex = Partner.objects.create(name="Globex MSP", slug="globex-msp")
    theirs = "/".join(bc.store.add_company(name="Globex Books"))
    other = Connection.objects.create(
        partner=globex,
        kind=KIND,
        status=Connection.Status.CONNECTED,
        remote_account=theirs,
        credentials={"webhook_secret": "globex-secret"},
    )
    connected.refresh_from_db()
    company = acme_books.account.split("/")[2]
    note = {
        "subscriptionId": "s",
        "clientState": connected.credentials["webhook_secret"],
        "resource": f"/api/v2.0/companies({company})/salesInvoices(1)",
        "changeType": "updated",
        "lastModifiedDateTime": "2026-03-02T17:00:00Z",
    }
    body = json.dumps({"value": [note]}).encode()

    refused = client.post(f"/webhooks/{KIND}/{other.pk}", body, content_type="application/json")
    taken = client.post(f"/webhooks/{KIND}/{connected.pk}", body, content_type="application/json")

    assert refused.status_code == 401 and taken.status_code == 200
    assert list(WebhookEvent.objects.values_list("connection_id", flat=True)) == [connected.pk]


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
    assert native.status_code == 404  # Business Central's own PDF is not synced


def test_the_preferences_offer_the_company_s_accounts_and_deposits_start_off(client, connected):
    page = client.get(f"/integrations/{connected.pk}/preferences/").content.decode()

    assert "Bank account for deposits" in page and "Clearing account" in page
    assert "Checking account" in page and "Stripe clearing" in page
    assert "Processing fee account" in page
    assert connected.preferences.get("create_deposits") in (None, False)


def test_a_payout_is_posted_to_the_chosen_bank_account_with_its_fee_on_a_g_l_line(
    client, connected, acme_books, sync, django_capture_on_commit_callbacks
):
    accounts = {
        "clearing_account_id": acme_books.account_id("10400"),
        "deposit_account_id": acme_books.account_id("CHECKING", "bankAccounts"),
        "fee_account_id": acme_books.account_id("67100"),
    }
    form = {
        "payment_journal": "ARBRIDGE",
        "deposit_journal": "ARBDEPOSIT",
        "currency": "USD",
        "create_deposits": "on",
        **accounts,
    }
    assert client.post(f"/integrations/{connected.pk}/preferences/", form).status_code == 302
    globex = acme_books.customer("Globex", "ap@globex.example")
    first, second = acme_books.invoice(globex, "150.00"), acme_books.invoice(globex, "80.00")
    sync(connected)
    payments = [
        take_payment((Invoice.objects.get(number=first["number"]), "150.00"), reference="p1"),
        take_payment((Invoice.objects.get(number=second["number"]), "80.00"), reference="p2"),
    ]
    deposit = record_payout(payments, fees="6.97")

    with django_capture_on_commit_callbacks(execute=True):
        for payment in payments:
            writeback.payment_succeeded(payment)
    with django_capture_on_commit_callbacks(execute=True):
        [command] = writeback.deposit_recorded(deposit)

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE, command.last_error
    number = ExternalRef.objects.get(entity="deposit").remote_id
    posted = {
        (e["accountNumber"], Decimal(str(e["debitAmount"])) - Decimal(str(e["creditAmount"])))
        for e in acme_books.entries(documentNumber=number)
    }
    assert posted == {
        ("10100", Decimal("223.03")),  # the payout, into the chosen bank account's G/L
        ("67100", Decimal("6.97")),  # the fee, a G/L line of its own
        ("10400", Decimal("-230.00")),  # the payments, out of clearing
    }


def test_a_returned_payment_is_reversed_in_business_central_and_the_balance_comes_back(
    client, connected, acme_books, sync, django_capture_on_commit_callbacks
):
    form = {
        "payment_journal": "ARBRIDGE",
        "deposit_journal": "ARBDEPOSIT",
        "currency": "USD",
        "payment_account_id": acme_books.account_id("10100"),
    }
    assert client.post(f"/integrations/{connected.pk}/preferences/", form).status_code == 302
    remote = acme_books.invoice(acme_books.customer("Globex", "ap@globex.example"), "120.00")
    sync(connected)
    payment = take_payment((Invoice.objects.get(connection=connected), "120.00"))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        writeback.payment_succeeded(payment)
    assert acme_books.read("salesInvoices", remote["id"])["status"] == "Paid"

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        payment.set_status(Payment.Status.RETURNED)
        [command] = writeback.payment_reversed(payment)

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE, command.last_error
    after = acme_books.read("salesInvoices", remote["id"])
    assert (after["status"], Decimal(str(after["remainingAmount"]))) == ("Open", Decimal("120.00"))
    assert acme_books.payments_of(remote["id"]) == []
    assert ExternalRef.objects.get(connection=connected, entity="payment").deleted_at is not None


def test_creating_deposits_needs_its_accounts(client, connected):
    form = {
        "payment_journal": "ARBRIDGE",
        "deposit_journal": "ARBDEPOSIT",
        "currency": "USD",
        "create_deposits": "on",
    }

    response = client.post(f"/integrations/{connected.pk}/preferences/", form)

    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose the clearing account." in page and "Choose the bank account." in page
