"""QuickBooks Desktop through the Django-side contract; its syncs and writes are its polls."""

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import transaction

from arbridge.core.models import Connection
from arbridge.integrations import writeback
from arbridge.integrations.models import ExternalRef, OutboundCommand, SyncRun
from arbridge.ledger.models import Invoice
from tests.integrations.contract import DjangoContract
from tests.integrations.qbd.conftest import Office
from tests.integrations.qbo.fixtures import take_payment


class TestQuickBooksDesktop(DjangoContract):
    def bill(self, books: Office, customer: str, amount: str) -> str:
        return books.invoice(books.customer(customer), amount)

    def paid(self, books: Office, remote_id: str) -> list[Decimal]:
        return [
            amount
            for txn in books.company.payments_of(remote_id)
            for invoice, amount in books.company.payments[txn]["Applied"]
            if invoice == remote_id
        ]

    @pytest.fixture
    def books(self, office: Office) -> Office:
        """The partner's PC: its company file, and the Web Connector set up with the .qwc file."""
        return office

    @pytest.fixture
    def sync(self, books: Office) -> Callable[[Connection], SyncRun]:
        """Sync as a polled connection does: the Web Connector's next poll."""

        def sync(connection: Connection) -> SyncRun:
            assert books.poll().outcome == "done"
            run = SyncRun.objects.filter(connection=connection).latest("pk")
            assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
            return run

        return sync

    def test_a_payment_taken_in_arbridge_is_written_back_exactly_once(
        self, client, connected, books, sync, django_capture_on_commit_callbacks
    ):
        remote_id = self.bill(books, "Globex", "80.00")
        sync(connected)
        payment = take_payment((Invoice.objects.get(connection=connected), "80.00"))

        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            [command] = writeback.payment_succeeded(payment)
        sync(connected)  # the next poll writes it
        command.refresh_from_db()
        assert command.status == OutboundCommand.Status.DONE, command.last_error
        # Owed again (as after a lost answer): the next poll finds it, and writes nothing.
        command.status = OutboundCommand.Status.PENDING
        command.save(update_fields=["status"])
        sync(connected)

        assert self.paid(books, remote_id) == [Decimal("80.00")]
        assert ExternalRef.objects.filter(connection=connected, entity="payment").count() == 1
