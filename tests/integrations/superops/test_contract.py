"""SuperOps through the Django-side contract."""

from decimal import Decimal

import pytest

from tests.integrations.contract import DjangoContract


class TestSuperOps(DjangoContract):
    def bill(self, books, customer: str, amount: str) -> str:
        return books.invoice(books.client(customer), amount)

    def paid(self, books, remote_id: str) -> list[Decimal]:
        return [Decimal(p["amount"]) for p in books.payments_of(remote_id)]

    def forged(self, connection):
        raise AssertionError("SuperOps sends no invoice webhooks; the contract skips this")

    @pytest.fixture
    def books(self, acme_books):
        """The billing person of the SuperOps account the partner connected."""
        return acme_books
