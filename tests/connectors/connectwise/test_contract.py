"""The connector contract, run for ConnectWise PSA against its sandbox."""

from collections.abc import Iterable
from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.base import Command
from arbridge.connectors.connectwise import ConnectWise, parse_callback
from arbridge.sandbox.connectwise import create_app
from tests.connectors.connectwise.conftest import connect
from tests.connectors.contract import FAULT_KINDS, ConnectorContract, payment_command
from tests.sandbox.connectwise.api import CW, control

CALLBACK_URL = "https://arbridge.test/callbacks/connectwise"


class ConnectWiseVendor:
    """A sandbox ConnectWise company, its billing person, and the callbacks it sends."""

    has_webhooks = True
    deletes_customers = True  # a deleted company is flagged, which arbridge reads as deleted

    def __init__(self) -> None:
        self.deliveries: list[httpx.Request] = []
        receiver = httpx.Client(transport=httpx.MockTransport(self.receive))
        self.app = create_app(http=receiver, deliver_callbacks=False)
        self.cw = CW(self.app)
        connect(self.app).register_callbacks(CALLBACK_URL)

    def receive(self, request: httpx.Request) -> httpx.Response:
        self.deliveries.append(request)
        return httpx.Response(200)

    def connector(self) -> ConnectWise:
        return connect(self.app)

    def create_customer(self, name: str) -> str:
        return str(self.cw.company(name)["id"])

    def rename_customer(self, id: str, name: str) -> None:
        self.cw.patch(f"/company/companies/{id}", name=name)

    def delete_customer(self, id: str) -> None:
        self.cw.delete(f"/company/companies/{id}").raise_for_status()

    def create_invoice(self, customer_id: str, amount: Decimal) -> str:
        return str(self.cw.invoice({"id": int(customer_id)}, amount)["id"])

    def change_invoice(self, id: str, amount: Decimal) -> None:
        self.cw.patch(f"/finance/invoices/{id}", total=str(amount))

    def delete_invoice(self, id: str) -> None:
        self.cw.delete(f"/finance/invoices/{id}").raise_for_status()

    def payment_command(self, invoice_id: str, amount: Decimal, key: str) -> Command:
        return payment_command(invoice_id, amount, key)

    def payments_of(self, invoice_id: str) -> int:
        return len(self.cw.get(f"/finance/invoices/{invoice_id}/payments"))

    def fail(self, rate: float, kinds: Iterable[str] = FAULT_KINDS) -> None:
        faults = {"error_rate": rate, "error_kinds": list(kinds), "timeout_ms": 0, "seed": 302}
        control(self.app).post("/_sandbox/faults", json=faults).raise_for_status()

    def failures(self) -> int:
        return control(self.app).get("/_sandbox/stats").json()["faults"]

    def hints(self) -> list[tuple[str, list[str]]]:
        self.app.flush_callbacks()
        deliveries, self.deliveries = self.deliveries, []
        connector = self.connector()
        ids: dict[str, list[str]] = {}
        for delivery in deliveries:
            assert connector.verify_callback(delivery.headers, delivery.content)
            for hint in parse_callback(delivery.content):
                ids.setdefault(hint.entity, []).append(hint.remote_id)
        return list(ids.items())


class TestConnectWise(ConnectorContract):
    @pytest.fixture
    def vendor(self) -> ConnectWiseVendor:
        return ConnectWiseVendor()
