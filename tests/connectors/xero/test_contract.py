"""The connector contract, run for Xero against its sandbox."""

from collections.abc import Iterable
from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.base import Command
from arbridge.connectors.xero import XeroConnector
from arbridge.connectors.xero.webhooks import parse, verify
from arbridge.sandbox.xero import create_app
from arbridge.sandbox.xero.app import WEBHOOK_KEY
from tests.connectors.contract import FAULT_KINDS, ConnectorContract, payment_command
from tests.connectors.xero.books import Books, connect, lines

WEBHOOK_URL = "http://arbridge.test/webhooks/xero"


class XeroVendor:
    """A sandbox organisation, its bookkeeper, and the webhooks it sends to arbridge."""

    has_webhooks = True
    deletes_customers = True  # by archiving them, as Xero does

    def __init__(self) -> None:
        self.deliveries: list[httpx.Request] = []
        receiver = httpx.Client(transport=httpx.MockTransport(self.receive))
        self.app = create_app(
            requests_per_minute=1_000_000,
            concurrent_requests=100,
            webhook_url=WEBHOOK_URL,
            webhook_interval=None,  # delivered when `hints()` flushes them
            http=receiver,
        )
        self.tenant = self.app.store.add_org(name="Acme IT")
        self.books = Books(self.app, self.tenant)

    def receive(self, request: httpx.Request) -> httpx.Response:
        self.deliveries.append(request)
        return httpx.Response(200)

    def connector(self) -> XeroConnector:
        return connect(self.app, self.tenant, bank_account_code="090")

    def create_customer(self, name: str) -> str:
        email = f"ap@{''.join(ch for ch in name.lower() if ch.isalnum())}.example"
        return self.books.contact(name, email)["ContactID"]

    def rename_customer(self, id: str, name: str) -> None:
        self.books.update("Contacts", id, Name=name)

    def delete_customer(self, id: str) -> None:
        self.books.archive(id)

    def create_invoice(self, customer_id: str, amount: Decimal) -> str:
        return self.books.invoice(customer_id, str(amount))["InvoiceID"]

    def change_invoice(self, id: str, amount: Decimal) -> None:
        # Only an invoice with nothing paid may be edited; the contract changes fresh ones.
        self.books.update("Invoices", id, LineItems=lines((str(amount),)))

    def delete_invoice(self, id: str) -> None:
        self.books.void(id)  # an approved invoice is voided, not deleted

    def payment_command(self, invoice_id: str, amount: Decimal, key: str) -> Command:
        return payment_command(invoice_id, amount, key)

    def payments_of(self, invoice_id: str) -> int:
        return len(self.books.payments_of(invoice_id))

    def fail(self, rate: float, kinds: Iterable[str] = FAULT_KINDS) -> None:
        self.books.faults(error_rate=rate, error_kinds=list(kinds), timeout_ms=1, seed=302)

    def failures(self) -> int:
        return self.books.stats().get("faults", 0)

    def hints(self) -> list[tuple[str, list[str]]]:
        self.app.flush_webhooks()
        deliveries, self.deliveries = self.deliveries, []
        ids: dict[str, list[str]] = {}
        for delivery in deliveries:
            body = delivery.content
            assert verify(body, delivery.headers["x-xero-signature"], WEBHOOK_KEY)
            for hint in parse(body):
                assert hint.tenant_id == self.tenant
                ids.setdefault(hint.entity, []).append(hint.remote_id)
        return list(ids.items())


class TestXero(ConnectorContract):
    @pytest.fixture
    def vendor(self) -> XeroVendor:
        return XeroVendor()
