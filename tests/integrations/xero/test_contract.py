"""Xero through the Django-side contract."""

from decimal import Decimal

import pytest

from tests.integrations.contract import DjangoContract
from tests.integrations.xero.test_connecting import event, signed


class TestXero(DjangoContract):
    def bill(self, books, customer: str, amount: str) -> str:
        return books.invoice(books.contact(customer), amount)["InvoiceID"]

    def paid(self, books, remote_id: str) -> list[Decimal]:
        return [Decimal(str(p["Amount"])) for p in books.payments_of(remote_id)]

    def forged(self, connection):
        body = event(connection.remote_account, "00000000-0000-0000-0000-000000000001")
        return "/webhooks/xero", body, signed(body, key="not-the-webhook-key")

    def ready_to_write(self, client, connection) -> None:
        client.force_login(connection.partner.memberships.get().user)
        url = f"/integrations/{connection.pk}/preferences/"
        assert client.post(url, {"bank_account_code": "090"}).status_code == 302

    @pytest.fixture
    def books(self, acme_books):
        """The bookkeeper of the organisation the partner connected."""
        return acme_books
