"""FreshBooks on the Django side: consent, callbacks verified, signed and forged, write-back."""

from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.db import transaction

from arbridge.connectors.freshbooks.webhooks import signature
from arbridge.core.models import Connection
from arbridge.integrations import outbox, writeback
from arbridge.integrations.models import ExternalRef, OutboundCommand, WebhookEvent
from arbridge.ledger.models import Invoice, Payment
from tests.integrations.freshbooks.conftest import come_back, consent
from tests.integrations.qbo.fixtures import take_payment

pytestmark = pytest.mark.django_db


def form(account: str, name: str, object_id) -> dict[str, str]:
    return {
        "name": name,
        "object_id": str(object_id),
        "account_id": account,
        "business_id": "1",
        "identity_id": "1",
        "user_id": "1",
    }


def post(client, connection, fields: dict[str, str], headers: dict[str, str] | None = None):
    return client.post(
        f"/webhooks/freshbooks/{connection.pk}",
        urlencode(fields),
        content_type="application/x-www-form-urlencoded",
        headers=headers or {},
    )


def signed(connection, fields: dict[str, str]) -> dict[str, str]:
    verifier = next(
        v for k, v in connection.credentials.items() if k.startswith("webhook_verifier:")
    )
    return {"X-FreshBooks-Hmac-SHA256": signature(verifier, fields)}


def test_connecting_stores_the_token_and_the_account(client, alice, acme_books):
    client.force_login(alice)
    callback = consent(client)
    assert callback.path == "/integrations/freshbooks/callback/"

    response = come_back(client, callback)

    connection = Connection.objects.get(kind="freshbooks")
    assert response["Location"] == f"/integrations/{connection.pk}/"
    assert (connection.status, connection.remote_account) == ("connected", acme_books.account)
    assert connection.credentials["token"]["refresh_token"]


def test_a_consent_reaching_two_businesses_asks_which(client, alice, freshbooks, acme_books):
    other = freshbooks.store.add_account(name="Acme Holdings")
    client.force_login(alice)

    response = come_back(client, consent(client))

    connection = Connection.objects.get(kind="freshbooks")
    assert response["Location"] == f"/integrations/{connection.pk}/account/"
    page = client.get(response["Location"]).content.decode()
    assert "Acme IT" in page and "Acme Holdings" in page
    client.post(response["Location"], {"account": other})
    connection.refresh_from_db()
    assert (connection.status, connection.remote_account) == ("connected", other)


def test_connecting_registers_callbacks_whose_verifiers_arbridge_puts_back(
    connected, freshbooks, acme_books
):
    callbacks = freshbooks.store.accounts[acme_books.account].callbacks

    assert sorted(c["event"] for c in callbacks.values()) == ["client", "invoice", "payment"]
    assert all(c["verified"] for c in callbacks.values())
    assert all(
        c["uri"].endswith(f"/webhooks/freshbooks/{connected.pk}") for c in callbacks.values()
    )
    connected.refresh_from_db()
    assert {k for k in connected.credentials if k.startswith("webhook_verifier:")} == {
        f"webhook_verifier:{id}" for id in callbacks
    }
    assert not WebhookEvent.objects.exists()  # a handshake stores nothing


def test_a_forged_verification_is_refused_and_keeps_nothing(client, connected):
    fields = {**form(connected.remote_account, "callback.verify", 999), "verifier": "guess"}

    response = post(client, connected, fields)

    connected.refresh_from_db()
    assert response.status_code == 401
    assert "webhook_verifier:999" not in connected.credentials


def test_a_forged_delivery_is_refused_and_nothing_is_stored(client, connected):
    fields = form(connected.remote_account, "invoice.update", 1)

    response = post(client, connected, fields, {"X-FreshBooks-Hmac-SHA256": "Zm9yZ2Vk"})
    unsigned = post(client, connected, fields)

    assert (response.status_code, unsigned.status_code) == (401, 401)
    assert not WebhookEvent.objects.exists()


def test_a_change_in_freshbooks_arrives_by_its_signed_callback_once(
    client, connected, acme_books, sync, deliver
):
    remote = acme_books.invoice(acme_books.client("Globex", "ap@globex.example"), "80.00")
    sync(connected)
    acme_books.pay(remote, "30.00")

    deliver()
    connected.refresh_from_db()
    fields = form(connected.remote_account, "invoice.update", remote["id"])
    again = post(client, connected, fields, signed(connected, fields))

    assert again.status_code == 200
    assert Invoice.objects.get().balance == Decimal("50.00")
    stored = WebhookEvent.objects.filter(connection=connected)
    assert stored.exists() and all(e.status != "failed" for e in stored)


def test_a_payment_taken_in_arbridge_is_written_to_freshbooks_once_and_deleted_on_reversal(
    connected, acme_books, sync, django_capture_on_commit_callbacks
):
    remote = acme_books.invoice(acme_books.client("Globex"), "80.00")
    sync(connected)
    invoice = Invoice.objects.get()

    payment = take_payment((invoice, "80.00"))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        [command] = writeback.payment_succeeded(payment)
    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE, command.last_error
    command.status = OutboundCommand.Status.PENDING  # as after a lost answer
    command.save(update_fields=["status"])
    outbox.deliver(command.pk)

    [written] = acme_books.payments_of(remote["id"])
    assert written["amount"]["amount"] == "80.00"
    assert ExternalRef.objects.filter(connection=connected, entity="payment").count() == 1

    # The ACH debit comes back returned: the payment written is deleted in FreshBooks.
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        payment.refresh_from_db()
        payment.set_status(Payment.Status.RETURNED)
        if not OutboundCommand.objects.filter(action="delete_payment").exists():
            writeback.payment_reversed(payment)
    [reversal] = OutboundCommand.objects.filter(action="delete_payment")
    assert reversal.status == OutboundCommand.Status.DONE, reversal.last_error
    assert acme_books.payments_of(remote["id"]) == []
    assert acme_books.read_invoice(remote["id"])["outstanding"]["amount"] == "80.00"


def test_an_invoice_deleted_in_freshbooks_is_archived(client, connected, acme_books, sync):
    remote = acme_books.invoice(acme_books.client("Globex"), "80.00")
    sync(connected)

    acme_books.delete_invoice(remote["id"])
    sync(connected)

    invoice = Invoice.objects.get()
    assert invoice.archived and invoice.source_deleted_at is not None


def test_disconnecting_forgets_the_token_and_keeps_the_invoices(
    client, alice, connected, acme_books, sync
):
    acme_books.invoice(acme_books.client("Globex"), "80.00")
    sync(connected)

    client.post(f"/integrations/{connected.pk}/disconnect/")

    connected.refresh_from_db()
    assert connected.status == Connection.Status.DISCONNECTED
    assert "token" not in connected.credentials
    assert Invoice.objects.count() == 1
