"""The connector contract, run for NetSuite against its sandbox."""

from collections.abc import Iterable
from decimal import Decimal

import pytest

from arbridge.connectors.base import Command
from arbridge.connectors.netsuite import NetSuite
from arbridge.sandbox.netsuite import create_app
from tests.connectors.contract import FAULT_KINDS, ConnectorContract, payment_command
from tests.connectors.netsuite.account import Bookkeeper, connect, new_account


class NetSuiteVendor:
    """A sandbox account and its bookkeeper; NetSuite sends arbridge no webhooks."""

    has_webhooks = False
    deletes_customers = True  # by marking them inactive

    def __init__(self) -> None:
        self.app = create_app()
        self.credentials = new_account(self.app)
        self.books = Bookkeeper(self.app, self.credentials)

    def connector(self) -> NetSuite:
        return connect(self.app, self.credentials)

    def create_customer(self, name: str) -> str:
        email = f"ap@{''.join(ch for ch in name.lower() if ch.isalnum())}.example"
        return self.books.customer(name, email)

    def rename_customer(self, id: str, name: str) -> None:
        self.books.update("customer", id, companyName=name)

    def delete_customer(self, id: str) -> None:
        self.books.update("customer", id, isInactive=True)

    def create_invoice(self, customer_id: str, amount: Decimal) -> str:
        return self.books.invoice(customer_id, str(amount))

    def change_invoice(self, id: str, amount: Decimal) -> None:
        self.books.change(id, str(amount))

    def delete_invoice(self, id: str) -> None:
        self.books.delete("invoice", id)

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


class TestNetSuite(ConnectorContract):
    @pytest.fixture
    def vendor(self) -> NetSuiteVendor:
        return NetSuiteVendor()
