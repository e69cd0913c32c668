"""Zoho Books through the Django-side contract."""

from decimal import Decimal

import pytest

from tests.integrations.contract import DjangoContract


class TestZohoBooks(DjangoContract):
    def bill(self, books, customer: str, amount: str) -> str:
        contact = books.contact(customer, f"ap@{customer.lower()}.example")
        return books.invoice(contact["contact_id"], amount)["invoice_id"]

    def paid(self, books, remote_id: str) -> list[Decimal]:
        return [Decimal(str(p["amount"])) for p in books.payments_of(remote_id)]

    def forged(self, connection):
        raise AssertionError("Zoho Books sends no webhooks; the contract skips this")

    @pytest.fixture
    def books(self, acme_books):
        """The bookkeeper of the organization the partner connected."""
        return acme_books
