"""The Django-side contract: what every connector does through arbridge's own views and jobs.

A connector's Django-side tests subclass DjangoContract as its connector
tests subclass ConnectorContract, and give it:

    connected   fixture: the partner's connection, connected as the partner connects it
    books       fixture: the vendor's bookkeeper, working in the sandbox through its API
    bill(books, customer, amount) -> the remote id of a new invoice
    paid(books, remote_id) -> the amounts of the payments on that invoice in the vendor
    forged(connection) -> (url, body, headers) of a delivery not from the vendor
    ready_to_write(client, connection): whatever the partner sets before payments are written

Each test drives arbridge as its user would, and reads the vendor back.
"""

from decimal import Decimal

import pytest
from django.db import transaction

from arbridge.core.models import Connection
from arbridge.integrations import outbox, registry, writeback
from arbridge.integrations.models import ExternalRef, OutboundCommand, WebhookEvent
from arbridge.ledger.models import Invoice
from tests.integrations.qbo.fixtures import take_payment


@pytest.mark.django_db
class DjangoContract:
    def bill(self, books, customer: str, amount: str) -> str:
        raise NotImplementedError

    def paid(self, books, remote_id: str) -> list[Decimal]:
        raise NotImplementedError

    def forged(self, connection: Connection) -> tuple[str, bytes, dict[str, str]]:
        raise NotImplementedError

    def ready_to_write(self, client, connection: Connection) -> None:
        """Set what the partner sets before payments can be written (nothing, by default)."""

    def test_it_is_connected(self, connected):
        assert connected.status == Connection.Status.CONNECTED
        assert connected.credentials  # kept, encrypted at rest

    def test_the_first_sync_brings_an_invoice_billed_in_the_source(self, connected, books, sync):
        self.bill(books, "Globex", "150.00")

        sync(connected)

        invoice = Invoice.objects.get(connection=connected)
        assert (invoice.total, invoice.balance) == (Decimal("150.00"), Decimal("150.00"))
        assert invoice.customer.name == "Globex"

    def test_a_delivery_not_from_the_vendor_is_refused_and_leaves_nothing(self, client, connected):
        if registry.capabilities(connected.kind).webhooks is None:
            pytest.skip(f"{connected.kind} sends no webhooks: its changes come by schedule")
        url, body, headers = self.forged(connected)

        response = client.post(url, body, content_type="application/json", headers=headers)

        assert response.status_code == 401
        assert not WebhookEvent.objects.exists()

    def test_a_payment_taken_in_arbridge_is_written_back_exactly_once(
        self, client, connected, books, sync, django_capture_on_commit_callbacks
    ):
        self.ready_to_write(client, connected)
        remote_id = self.bill(books, "Globex", "80.00")
        sync(connected)
        payment = take_payment((Invoice.objects.get(connection=connected), "80.00"))

        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            [command] = writeback.payment_succeeded(payment)
        command.refresh_from_db()
        assert command.status == OutboundCommand.Status.DONE, command.last_error
        # A retry after a lost answer carries the same key: the vendor keeps one payment.
        command.status = OutboundCommand.Status.PENDING
        command.save(update_fields=["status"])
        outbox.deliver(command.pk)

        assert self.paid(books, remote_id) == [Decimal("80.00")]
        assert ExternalRef.objects.filter(connection=connected, entity="payment").count() == 1

    def test_disconnecting_forgets_the_credentials_and_keeps_the_invoices(
        self, client, alice, connected, books, sync
    ):
        self.bill(books, "Globex", "80.00")
        sync(connected)
        client.force_login(alice)

        client.post(f"/integrations/{connected.pk}/disconnect/")

        connected.refresh_from_db()
        assert connected.status == Connection.Status.DISCONNECTED
        assert "token" not in connected.credentials and "client_secret" not in connected.credentials
        assert Invoice.objects.filter(connection=connected).count() == 1
