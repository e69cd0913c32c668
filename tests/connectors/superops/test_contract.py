"""The connector contract, run for SuperOps against its sandbox."""

from collections.abc import Iterable
from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.base import Command
from arbridge.connectors.superops import SuperOps
from arbridge.sandbox.superops import SUBDOMAIN, create_app
from tests.connectors.contract import FAULT_KINDS, ConnectorContract, payment_command
from tests.connectors.superops.conftest import connect


class SuperOpsVendor:
    """A sandbox SuperOps account and its billing person; SuperOps sends no invoice webhooks."""

    has_webhooks = False
    deletes_customers = True

    def __init__(self) -> None:
        self.app = create_app(requests_per_window=1_000_000)
        self.app.sleep = lambda _: None
        self.store = self.app.store
        self.control = httpx.Client(
            transport=httpx.WSGITransport(app=self.app), base_url="http://superops.test"
        )

    def connector(self) -> SuperOps:
        return connect(self.app)

    def create_customer(self, name: str) -> str:
        billing = {"firstName": "Ada", "lastName": "Ledger", "email": "ap@example.com"}
        return self.store.client(SUBDOMAIN, name, billing=billing)["accountId"]

    def rename_customer(self, id: str, name: str) -> None:
        self.store.update_client(SUBDOMAIN, id, name=name)

    def delete_customer(self, id: str) -> None:
        self.store.delete_client(SUBDOMAIN, id)

    def create_invoice(self, customer_id: str, amount: Decimal) -> str:
        return self.store.invoice(SUBDOMAIN, customer_id, [("Managed services", 1, amount)])[
            "invoiceId"
        ]

    def change_invoice(self, id: str, amount: Decimal) -> None:
        self.store.change_items(SUBDOMAIN, id, [("Managed services", 1, amount)])

    def delete_invoice(self, id: str) -> None:
        self.store.delete_invoice(SUBDOMAIN, id)

    def payment_command(self, invoice_id: str, amount: Decimal, key: str) -> Command:
        return payment_command(invoice_id, amount, key)

    def payments_of(self, invoice_id: str) -> int:
        return len(self.store.account(SUBDOMAIN).invoices[invoice_id]["payments"])

    def fail(self, rate: float, kinds: Iterable[str] = FAULT_KINDS) -> None:
        faults = {"error_rate": rate, "error_kinds": list(kinds), "timeout_ms": 0, "seed": 302}
        self.control.post("/_sandbox/faults", json=faults).raise_for_status()

    def failures(self) -> int:
        stats = self.control.get("/_sandbox/stats").json()
        return stats["subdomains"].get(SUBDOMAIN, {}).get("faults", 0)

    def hints(self) -> list[tuple[str, list[str]]]:
        return []


class TestSuperOps(ConnectorContract):
    @pytest.fixture
    def vendor(self) -> SuperOpsVendor:
        return SuperOpsVendor()
