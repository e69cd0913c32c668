"""NetSuite through the Django-side contract."""

from decimal import Decimal

import pytest

from tests.integrations.contract import DjangoContract


class TestNetSuite(DjangoContract):
    def bill(self, books, customer: str, amount: str) -> str:
        return books.invoice(books.customer(customer, f"ap@{customer.lower()}.example"), amount)

    def paid(self, books, remote_id: str) -> list[Decimal]:
        return [Decimal(str(p["payment"])) for p in books.payments_of(remote_id)]

    def forged(self, connection):
        raise AssertionError("NetSuite sends no webhooks; the contract skips this")

    @pytest.fixture
    def books(self, acme_books):
        """The bookkeeper of the account the partner connected."""
        return acme_books
