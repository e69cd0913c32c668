"""FreshBooks through the Django-side contract."""

from decimal import Decimal
from urllib.parse import urlencode

import pytest

from tests.integrations.contract import DjangoContract


class TestFreshBooks(DjangoContract):
    def bill(self, books, customer: str, amount: str) -> str:
        return str(books.invoice(books.client(customer), amount)["id"])

    def paid(self, books, remote_id: str) -> list[Decimal]:
        return [Decimal(p["amount"]["amount"]) for p in books.payments_of(remote_id)]

    def forged(self, connection):
        fields = {
            "name": "invoice.update",
            "object_id": "1",
            "account_id": connection.remote_account,
        }
        headers = {"X-FreshBooks-Hmac-SHA256": "bm90IGEgc2lnbmF0dXJl"}
        return f"/webhooks/freshbooks/{connection.pk}", urlencode(fields).encode(), headers

    @pytest.fixture
    def books(self, acme_books):
        """The bookkeeper of the business the partner connected."""
        return acme_books
