"""The connector contract, run for FreshBooks against its sandbox."""

from collections.abc import Iterable
from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.base import Command, WebhookRequest
from arbridge.connectors.freshbooks import FreshBooks
from arbridge.connectors.freshbooks.webhooks import SIGNATURE_HEADER, form, verify
from arbridge.sandbox.freshbooks import create_app
from tests.connectors.contract import FAULT_KINDS, ConnectorContract, payment_command
from tests.connectors.freshbooks.books import Books, connect

WEBHOOK_URL = "http://arbridge.test/webhooks/freshbooks/7"


class FreshBooksVendor:
    """A sandbox business, its bookkeeper, and the callbacks it posts to arbridge."""

    has_webhooks = True
    deletes_customers = True  # vis_state 1

    def __init__(self) -> None:
        self.deliveries: list[httpx.Request] = []
        receiver = httpx.Client(transport=httpx.MockTransport(self.receive))
        self.app = create_app(requests_per_minute=1_000_000, webhook_interval=None, http=receiver)
        self.account = self.app.store.add_account(name="Acme IT")
        self.books = Books(self.app, self.account)
        self.credentials: dict[str, str] = {}
        self.subscribe()

    def receive(self, request: httpx.Request) -> httpx.Response:
        self.deliveries.append(request)
        return httpx.Response(200)

    def subscribe(self) -> None:
        """Register arbridge's callbacks and answer their verification, as arbridge does."""
        connector = self.connector()
        connector.subscribe(WEBHOOK_URL)
        self.app.flush_webhooks()
        for delivery in self.take():
            answer = connector.receive(WebhookRequest(dict(delivery.headers), delivery.content))
            assert answer.accepted, answer.reason
            self.credentials.update(answer.credentials)

    def take(self) -> list[httpx.Request]:
        deliveries, self.deliveries = self.deliveries, []
        return deliveries

    def connector(self) -> FreshBooks:
        return connect(self.app, self.account, credentials=self.credentials)

    def create_customer(self, name: str) -> str:
        email = f"ap@{''.join(ch for ch in name.lower() if ch.isalnum())}.example"
        return str(self.books.client(name, email)["id"])

    def rename_customer(self, id: str, name: str) -> None:
        self.books.rename(id, name)

    def delete_customer(self, id: str) -> None:
        self.books.delete_client(id)

    def create_invoice(self, customer_id: str, amount: Decimal) -> str:
        return str(self.books.invoice(customer_id, str(amount))["id"])

    def change_invoice(self, id: str, amount: Decimal) -> None:
        self.books.change(id, str(amount))

    def delete_invoice(self, id: str) -> None:
        self.books.delete_invoice(id)

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
        ids: dict[str, list[str]] = {}
        verifiers = list(self.credentials.values())
        for delivery in self.take():
            fields = form(delivery.content)
            assert verify(fields, delivery.headers[SIGNATURE_HEADER], verifiers)
            assert fields["account_id"] == self.account
            for hint in self.connector().hints(delivery.content):
                ids.setdefault(hint.entity, []).append(hint.remote_id)
        return list(ids.items())


class TestFreshBooks(ConnectorContract):
    @pytest.fixture
    def vendor(self) -> FreshBooksVendor:
        return FreshBooksVendor()
