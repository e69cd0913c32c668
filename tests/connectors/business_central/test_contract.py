"""The connector contract, run for Business Central against its sandbox."""

from collections.abc import Iterable
from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.base import Command, WebhookRequest
from arbridge.connectors.business_central import BusinessCentral
from arbridge.sandbox.business_central import create_app
from tests.connectors.business_central.books import Books, connect
from tests.connectors.contract import FAULT_KINDS, ConnectorContract, payment_command

WEBHOOK_URL = "http://arbridge.test/webhooks/business_central/7"


class BusinessCentralVendor:
    """A sandbox company, its bookkeeper, and the notifications it sends to arbridge."""

    has_webhooks = True
    deletes_customers = True  # by blocking them for All, as a customer with history is

    def __init__(self) -> None:
        self.deliveries: list[httpx.Request] = []
        receiver = httpx.Client(transport=httpx.MockTransport(self.receive))
        self.app = create_app(http=receiver, webhook_interval=None, concurrent_requests=100)
        self.account = "/".join(self.app.store.add_company(name="Acme IT"))
        self.books = Books(self.app, self.account)
        self.bank = self.books.account_id("10100")
        self.connector().subscribe(WEBHOOK_URL)

    def receive(self, request: httpx.Request) -> httpx.Response:
        """Answer as arbridge's webhook view does, through the connector's `receive`."""
        arrived = WebhookRequest(
            headers=dict(request.headers), body=request.content, query=dict(request.url.params)
        )
        delivery = self.connector().receive(arrived)
        if not delivery.accepted:
            return httpx.Response(401)
        if delivery.hints:
            self.deliveries.append(request)
        return httpx.Response(200, text=delivery.answer)

    def connector(self) -> BusinessCentral:
        return connect(self.app, self.account, payment_account_id=self.bank)

    def create_customer(self, name: str) -> str:
        email = f"ap@{''.join(ch for ch in name.lower() if ch.isalnum())}.example"
        return self.books.customer(name, email)["id"]

    def rename_customer(self, id: str, name: str) -> None:
        self.books.patch("customers", id, displayName=name)

    def delete_customer(self, id: str) -> None:
        self.books.block(id)

    def create_invoice(self, customer_id: str, amount: Decimal) -> str:
        return self.books.invoice(customer_id, str(amount))["id"]

    def change_invoice(self, id: str, amount: Decimal) -> None:
        self.books.change(id, str(amount))

    def delete_invoice(self, id: str) -> None:
        self.books.cancel(id)

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
        connector = self.connector()
        ids: dict[str, list[str]] = {}
        for delivery in deliveries:
            for hint in connector.hints(delivery.content):
                ids.setdefault(hint.entity, []).append(hint.remote_id)
        return list(ids.items())


class TestBusinessCentral(ConnectorContract):
    @pytest.fixture
    def vendor(self) -> BusinessCentralVendor:
        return BusinessCentralVendor()
