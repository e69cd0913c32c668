"""The connector contract, run for Zoho Books against its sandbox."""

from collections.abc import Iterable
from decimal import Decimal

import pytest

from arbridge.connectors.base import Command
from arbridge.connectors.zoho_books import ZohoBooks
from arbridge.sandbox.zoho_books import create_app
from tests.connectors.contract import FAULT_KINDS, ConnectorContract, payment_command
from tests.connectors.zoho_books.books import Books, connect


class ZohoBooksVendor:
    """A sandbox organization and its bookkeeper; Zoho Books sends arbridge no webhooks."""

    has_webhooks = False
    deletes_customers = True  # by marking them inactive

    def __init__(self) -> None:
        self.app = create_app(requests_per_minute=1_000_000)
        self.organization = self.app.store.add_org(name="Acme IT")
        self.books = Books(self.app, self.organization)

    def connector(self) -> ZohoBooks:
        return connect(self.app, self.organization)

    def create_customer(self, name: str) -> str:
        email = f"ap@{''.join(ch for ch in name.lower() if ch.isalnum())}.example"
        return self.books.contact(name, email)["contact_id"]

    def rename_customer(self, id: str, name: str) -> None:
        self.books.rename(id, name)

    def delete_customer(self, id: str) -> None:
        self.books.deactivate(id)

    def create_invoice(self, customer_id: str, amount: Decimal) -> str:
        return self.books.invoice(customer_id, str(amount))["invoice_id"]

    def change_invoice(self, id: str, amount: Decimal) -> None:
        self.books.change(id, str(amount))

    def delete_invoice(self, id: str) -> None:
        self.books.void(id)  # a sent invoice is voided

    def payment_command(self, invoice_id: str, amount: Decimal, key: str) -> Command:
        return payment_command(invoice_id, amount, key)

    def payments_of(self, invoice_id: str) -> int:
        return len(self.books.payments_of(invoice_id))

    def fail(self, rate: float, kinds: Iterable[str] = FAULT_KINDS) -> None:
        self.books.faults(error_rate=rate, error_kinds=list(kinds), timeout_ms=1, seed=302)

    def failures(self) -> int:
        return self.books.stats().get("faults", 0)

    def hints(self) -> list[tuple[str, list[str]]]:
        return []


class TestZohoBooks(ConnectorContract):
    @pytest.fixture
    def vendor(self) -> ZohoBooksVendor:
        return ZohoBooksVendor()
