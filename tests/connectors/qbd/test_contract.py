"""The connector contract, run for QuickBooks Desktop against its sandbox's request processor."""

from collections.abc import Iterable
from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.base import Command, Config, Runtime
from arbridge.connectors.qbd import QuickBooksDesktop
from arbridge.sandbox.qbd import Company, create_app
from tests.connectors.contract import FAULT_KINDS, ConnectorContract
from tests.connectors.qbd.books import payment
from tests.sandbox.clock import Clock


class QuickBooksDesktopVendor:
    """A sandbox company file and its bookkeeper; arbridge reaches it by its request processor."""

    has_webhooks = False
    deletes_customers = True  # by making them inactive, as QuickBooks keeps their history

    def __init__(self) -> None:
        self.clock = Clock()
        self.company = Company(clock=self.clock)
        self.app = create_app(self.company)
        self.customers: dict[str, str] = {}

    def connector(self) -> QuickBooksDesktop:
        http = httpx.Client(transport=httpx.WSGITransport(app=self.app))
        runtime = Runtime(clock=self.clock, sleep=lambda seconds: None)
        return QuickBooksDesktop(Config(base_url="http://qbd.test/qbxml"), http, runtime)

    def create_customer(self, name: str) -> str:
        self.clock.advance(seconds=1)
        return self.company.add_customer(name, f"ap@{name.split()[0].lower()}.example")

    def rename_customer(self, id: str, name: str) -> None:
        self.clock.advance(seconds=1)
        self.company.change_customer(id, Name=name)

    def delete_customer(self, id: str) -> None:
        self.clock.advance(seconds=1)
        self.company.change_customer(id, IsActive=False)

    def create_invoice(self, customer_id: str, amount: Decimal) -> str:
        self.clock.advance(seconds=1)
        invoice = self.company.add_invoice(customer_id, [("Managed services", amount)])
        self.customers[invoice] = customer_id
        return invoice

    def change_invoice(self, id: str, amount: Decimal) -> None:
        self.clock.advance(seconds=1)
        self.company.change_invoice(id, [("Managed services", amount)])

    def delete_invoice(self, id: str) -> None:
        self.clock.advance(seconds=1)
        self.company.delete_txn("Invoice", id)

    def payment_command(self, invoice_id: str, amount: Decimal, key: str) -> Command:
        return payment(invoice_id, self.customers[invoice_id], str(amount), key)

    def payments_of(self, invoice_id: str) -> int:
        return len(self.company.payments_of(invoice_id))

    def fail(self, rate: float, kinds: Iterable[str] = FAULT_KINDS) -> None:
        self.app.configure(
            type(self.app.chaos.faults)(error_rate=rate, error_kinds=list(kinds), seed=302)
        )

    def failures(self) -> int:
        return self.app.faults

    def hints(self) -> list[tuple[str, list[str]]]:
        return []


class TestQuickBooksDesktop(ConnectorContract):
    @pytest.fixture
    def vendor(self) -> QuickBooksDesktopVendor:
        return QuickBooksDesktopVendor()
