"""The connector contract, run for HaloPSA against its sandbox."""

from collections.abc import Iterable
from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.base import Command
from arbridge.connectors.halopsa import HaloPSA, parse_webhook, verify_webhook
from arbridge.sandbox.halopsa import create_app
from tests.connectors.contract import FAULT_KINDS, ConnectorContract, payment_command
from tests.connectors.halopsa.conftest import connect
from tests.sandbox.halopsa.api import Halo, control

WEBHOOK_URL = "http://arbridge.test/webhooks/halopsa"
WEBHOOK_AUTH = {"kind": "header", "header": "X-Arbridge-Secret", "value": "s3cret"}


class HaloVendor:
    """A sandbox HaloPSA instance, its billing person, and the webhook it sends to arbridge."""

    has_webhooks = True
    deletes_customers = True  # a client without invoices

    def __init__(self) -> None:
        self.deliveries: list[httpx.Request] = []
        receiver = httpx.Client(transport=httpx.MockTransport(self.receive))
        self.app = create_app(
            requests_per_window=1_000_000,
            webhook_interval=None,  # delivered when `hints()` flushes them
            http=receiver,
        )
        self.halo = Halo(self.app)
        self.halo.post(
            "Webhook",
            {
                "name": "arbridge",
                "url": WEBHOOK_URL,
                "authentication_type": 3,
                "authentication_header": "X-Arbridge-Secret: s3cret",
            },
        )

    def receive(self, request: httpx.Request) -> httpx.Response:
        self.deliveries.append(request)
        return httpx.Response(200)

    def connector(self) -> HaloPSA:
        return connect(self.app)

    def create_customer(self, name: str) -> str:
        return str(self.halo.client(name)["id"])

    def rename_customer(self, id: str, name: str) -> None:
        self.halo.post("Client", {"id": int(id), "name": name})

    def delete_customer(self, id: str) -> None:
        self.halo.delete(f"Client/{id}").raise_for_status()

    def create_invoice(self, customer_id: str, amount: Decimal) -> str:
        client = {"id": int(customer_id)}
        return str(self.halo.invoice(client, ("Managed services", 1, str(amount)))["id"])

    def change_invoice(self, id: str, amount: Decimal) -> None:
        line = {"item_shortdescription": "Managed services", "unit_price": amount}
        self.halo.post("Invoice", {"id": int(id), "lines": [line]})

    def delete_invoice(self, id: str) -> None:
        self.halo.delete(f"Invoice/{id}").raise_for_status()

    def payment_command(self, invoice_id: str, amount: Decimal, key: str) -> Command:
        return payment_command(invoice_id, amount, key)

    def payments_of(self, invoice_id: str) -> int:
        return self.halo.get("InvoicePayment", invoice_id=invoice_id)["record_count"]

    def fail(self, rate: float, kinds: Iterable[str] = FAULT_KINDS) -> None:
        # A timeout is the sandbox acting and then answering 504; no wait is needed for that.
        faults = {"error_rate": rate, "error_kinds": list(kinds), "timeout_ms": 0, "seed": 302}
        control(self.app).post("/_sandbox/faults", json=faults).raise_for_status()

    def failures(self) -> int:
        stats = control(self.app).get("/_sandbox/stats").json()
        return stats["tenants"].get("sandbox", {}).get("faults", 0)

    def hints(self) -> list[tuple[str, list[str]]]:
        self.app.flush_webhooks()
        deliveries, self.deliveries = self.deliveries, []
        ids: dict[str, list[str]] = {}
        for delivery in deliveries:
            assert verify_webhook(delivery.headers, {"webhook_auth": WEBHOOK_AUTH})
            for hint in parse_webhook(delivery.content):
                ids.setdefault(hint.entity, []).append(hint.remote_id)
        return list(ids.items())


class TestHaloPSA(ConnectorContract):
    @pytest.fixture
    def vendor(self) -> HaloVendor:
        return HaloVendor()
