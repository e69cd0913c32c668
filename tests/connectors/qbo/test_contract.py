"""The connector contract, run for QuickBooks Online against its sandbox."""

from collections.abc import Iterable
from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.base import Command
from arbridge.connectors.qbo import QuickBooksOnline
from arbridge.connectors.qbo.webhooks import parse_notifications, verify_signature
from arbridge.sandbox.qbo import create_app
from arbridge.sandbox.qbo.app import VERIFIER_TOKEN
from tests.connectors.contract import FAULT_KINDS, ConnectorContract, payment_command
from tests.connectors.qbo.books import Books, connect, lines

WEBHOOK_URL = "http://arbridge.test/webhooks/qbo"


class QuickBooksVendor:
    """A sandbox company, its bookkeeper, and the webhooks it sends to arbridge."""

    has_webhooks = True
    deletes_customers = True  # by making them inactive, as QuickBooks does

    def __init__(self) -> None:
        self.deliveries: list[httpx.Request] = []
        receiver = httpx.Client(transport=httpx.MockTransport(self.receive))
        self.app = create_app(
            requests_per_minute=1_000_000,
            webhook_url=WEBHOOK_URL,
            webhook_interval=None,  # delivered when `hints()` flushes them
            http=receiver,
        )
        self.realm = self.app.store.add_realm(company_name="Acme IT")
        self.books = Books(self.app, self.realm)

    def receive(self, request: httpx.Request) -> httpx.Response:
        self.deliveries.append(request)
        return httpx.Response(200)

    def connector(self) -> QuickBooksOnline:
        return connect(self.app, self.realm)

    def create_customer(self, name: str) -> str:
        email = f"ap@{''.join(ch for ch in name.lower() if ch.isalnum())}.example"
        return self.books.customer(name, email)["Id"]

    def rename_customer(self, id: str, name: str) -> None:
        self.books.update("Customer", id, DisplayName=name)

    def delete_customer(self, id: str) -> None:
        self.books.update("Customer", id, Active=False)

    def create_invoice(self, customer_id: str, amount: Decimal) -> str:
        return self.books.invoice({"Id": customer_id}, str(amount))["Id"]

    def change_invoice(self, id: str, amount: Decimal) -> None:
        self.books.update("Invoice", id, Line=lines((str(amount),)))

    def delete_invoice(self, id: str) -> None:
        self.books.delete("Invoice", id)

    def payment_command(self, invoice_id: str, amount: Decimal, key: str) -> Command:
        customer = self.books.query(f"select * from Invoice where Id = '{invoice_id}'")  # noqa: S608
        customer_id = customer[0]["CustomerRef"]["value"] if customer else "1"
        return payment_command(invoice_id, amount, key, customer_remote_id=customer_id)

    def payments_of(self, invoice_id: str) -> int:
        return sum(
            any(txn["TxnId"] == invoice_id for line in p["Line"] for txn in line["LinkedTxn"])
            for p in self.books.query("select * from Payment")
        )

    def fail(self, rate: float, kinds: Iterable[str] = FAULT_KINDS) -> None:
        # A timeout is the sandbox acting and then answering 504 late; 1 ms is late enough.
        self.books.faults(error_rate=rate, error_kinds=list(kinds), timeout_ms=1, seed=302)

    def failures(self) -> int:
        stats = self.books.control.get("/_sandbox/stats").json()
        return stats["realms"].get(self.realm, {}).get("faults", 0)

    def hints(self) -> list[tuple[str, list[str]]]:
        self.app.flush_webhooks()
        deliveries, self.deliveries = self.deliveries, []
        ids: dict[str, list[str]] = {}
        for delivery in deliveries:
            body = delivery.content
            assert verify_signature(body, delivery.headers["intuit-signature"], VERIFIER_TOKEN)
            for hint in parse_notifications(body):
                assert hint.realm == self.realm
                ids.setdefault(hint.entity, []).append(hint.id)
        return list(ids.items())


class TestQuickBooksOnline(ConnectorContract):
    @pytest.fixture
    def vendor(self) -> QuickBooksVendor:
        return QuickBooksVendor()
