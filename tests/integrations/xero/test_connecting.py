"""Xero on the Django side: connecting by consent, webhooks, pulling, writing back."""

import base64
import hashlib
import hmac
import json
from decimal import Decimal

import pytest
from django.db import transaction

from arbridge.core.models import Connection
from arbridge.integrations import outbox, writeback
from arbridge.integrations.models import ExternalRef, OutboundCommand, WebhookEvent
from arbridge.ledger.models import Invoice
from arbridge.sandbox.xero.app import WEBHOOK_KEY
from tests.integrations.qbo.fixtures import take_payment
from tests.integrations.xero.conftest import come_back, consent

pytestmark = pytest.mark.django_db


def signed(body: bytes, key: str = WEBHOOK_KEY) -> dict[str, str]:
    digest = hmac.new(key.encode(), body, hashlib.sha256).digest()
    return {"x-xero-signature": base64.b64encode(digest).decode()}


def event(tenant: str, invoice_id: str, when: str = "2026-12-06T10:00:00.000") -> bytes:
    return json.dumps(
        {
            "events": [
                {
                    "resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{invoice_id}",
                    "resourceId": invoice_id,
                    "eventDateUtc": when,
                    "eventType": "UPDATE",
                    "eventCategory": "INVOICE",
                    "tenantId": tenant,
                    "tenantType": "ORGANISATION",
                }
            ],
            "firstEventSequence": 1,
            "lastEventSequence": 1,
            "entropy": "S0m3r4Nd0mt3xt",
        }
    ).encode()


def post(client, body: bytes, headers: dict[str, str]):
    return client.post("/webhooks/xero", body, content_type="application/json", headers=headers)


def test_connecting_stores_the_token_and_the_organisation(client, alice, acme_books, sync):
    client.force_login(alice)
    callback = consent(client)
    assert callback.path == "/integrations/xero/callback/"

    response = come_back(client, callback)

    xero = Connection.objects.get(kind="xero")
    assert response["Location"] == f"/integrations/{xero.pk}/"
    assert (xero.status, xero.remote_account) == (Connection.Status.CONNECTED, acme_books.tenant)
    assert xero.credentials["token"]["refresh_token"]


def test_a_consent_reaching_two_organisations_asks_which(client, alice, xero, acme_books):
    other = xero.store.add_org(name="Acme Holdings")
    client.force_login(alice)

    response = come_back(client, consent(client))

    xero_connection = Connection.objects.get(kind="xero")
    assert response["Location"] == f"/integrations/{xero_connection.pk}/account/"
    page = client.get(response["Location"]).content.decode()
    assert "Acme IT" in page and "Acme Holdings" in page
    assert xero_connection.status != Connection.Status.CONNECTED

    client.post(response["Location"], {"account": other})

    xero_connection.refresh_from_db()
    assert (xero_connection.status, xero_connection.remote_account) == ("connected", other)


def test_an_organisation_not_consented_to_cannot_be_picked(client, alice, xero, acme_books):
    xero.store.add_org(name="Acme Holdings")
    client.force_login(alice)
    url = come_back(client, consent(client))["Location"]

    client.post(url, {"account": "not-a-tenant"})

    assert Connection.objects.get(kind="xero").status != Connection.Status.CONNECTED


def test_the_first_sync_brings_sales_invoices_and_billing_contacts(connected, acme_books, sync):
    globex = acme_books.contact("Globex", "ap@globex.example")
    acme_books.invoice(globex, "100.00", "50.00")

    sync(connected)

    invoice = Invoice.objects.get()
    assert (invoice.total, invoice.customer.name) == (Decimal("150.00"), "Globex")


def test_intent_to_receive_is_answered_with_an_empty_200_and_stores_nothing(client, connected):
    body = json.dumps(
        {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "x"}
    ).encode()

    response = post(client, body, signed(body))

    assert (response.status_code, response.content) == (200, b"")
    assert not WebhookEvent.objects.exists()


def test_a_forged_delivery_is_refused_with_an_empty_401(client, connected, acme_books):
    body = event(acme_books.tenant, "00000000-0000-0000-0000-000000000001")

    response = post(client, body, signed(body, key="not-the-webhook-key"))

    assert (response.status_code, response.content) == (401, b"")
    assert not WebhookEvent.objects.exists()


def test_a_signed_delivery_is_stored_once_and_brings_the_change(
    client, connected, acme_books, sync, django_capture_on_commit_callbacks
):
    globex = acme_books.contact("Globex")
    remote = acme_books.invoice(globex, "80.00")
    sync(connected)
    acme_books.pay(remote, "30.00")
    body = event(acme_books.tenant, remote["InvoiceID"])

    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, body, signed(body))
    second = post(client, body, signed(body))

    assert (first.status_code, second.status_code) == (200, 200)
    assert WebhookEvent.objects.count() == 1
    assert Invoice.objects.get().balance == Decimal("50.00")


def test_the_preferences_offer_the_organisation_s_accounts(client, connected):
    page = client.get(f"/integrations/{connected.pk}/preferences/").content.decode()

    assert "Bank account for deposits" in page and "Clearing account" in page
    assert 'value="090"' in page  # the organisation's bank account, from its chart


def test_creating_deposits_needs_its_accounts(client, connected):
    response = client.post(f"/integrations/{connected.pk}/preferences/", {"create_deposits": "on"})

    assert response.status_code == 400
    assert "Choose the clearing account payments wait in." in response.content.decode()


def test_a_payment_taken_in_arbridge_is_written_to_xero_once(
    client, connected, acme_books, sync, django_capture_on_commit_callbacks
):
    saved = client.post(f"/integrations/{connected.pk}/preferences/", {"bank_account_code": "090"})
    assert saved.status_code == 302
    remote = acme_books.invoice(acme_books.contact("Globex"), "80.00")
    sync(connected)
    invoice = Invoice.objects.get()

    payment = take_payment((invoice, "80.00"))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        [command] = writeback.payment_succeeded(payment)
    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE, command.last_error
    # A retry after a lost answer carries the same key: Xero keeps one payment.
    command.status = OutboundCommand.Status.PENDING
    command.save(update_fields=["status"])
    outbox.deliver(command.pk)

    payments = acme_books.payments_of(remote["InvoiceID"])
    assert [Decimal(str(p["Amount"])) for p in payments] == [Decimal("80.00")]
    assert ExternalRef.objects.filter(connection=connected, entity="payment").count() == 1


def test_disconnecting_forgets_the_token_and_keeps_the_invoices(
    client, alice, connected, acme_books, sync
):
    acme_books.invoice(acme_books.contact("Globex"), "80.00")
    sync(connected)

    client.post(f"/integrations/{connected.pk}/disconnect/")

    connected.refresh_from_db()
    assert connected.status == Connection.Status.DISCONNECTED
    assert "token" not in connected.credentials
    assert Invoice.objects.count() == 1
