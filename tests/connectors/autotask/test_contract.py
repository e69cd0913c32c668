"""The connector contract, run for Autotask against its sandbox."""

from collections.abc import Iterable
from decimal import Decimal

import pytest

from arbridge.connectors.autotask import Autotask
from arbridge.connectors.base import Command
from arbridge.sandbox.autotask import Store, create_app
from tests.connectors.autotask.conftest import connect
from tests.connectors.contract import FAULT_KINDS, ConnectorContract, payment_command
from tests.sandbox.autotask.api import Autotask as Person
from tests.sandbox.autotask.api import Clock, control


class AutotaskVendor:
    """A sandbox Autotask database and the person who runs billing in it.

    Autotask reads changes and deletions once a day (the full read), so each
    change here happens a day after the last: what the contract checks is what
    arbridge holds once the changes are due to arrive.
    """

    has_webhooks = False
    deletes_customers = True  # in Autotask's screens; the API cannot

    def __init__(self) -> None:
        self.clock = Clock()
        self.app = create_app(Store(clock=self.clock))
        self.person = Person(self.app)

    def connector(self) -> Autotask:
        return connect(self.app, self.clock)

    def create_customer(self, name: str) -> str:
        return str(self.person.company(name))

    def rename_customer(self, id: str, name: str) -> None:
        self.clock.advance(days=1)
        self.person.change("companies", int(id), companyName=name)

    def delete_customer(self, id: str) -> None:
        self.clock.advance(days=1)
        self.person.delete("companies", int(id))

    def create_invoice(self, customer_id: str, amount: Decimal) -> str:
        return str(self.person.invoice(int(customer_id), amount)["id"])

    def change_invoice(self, id: str, amount: Decimal) -> None:
        self.clock.advance(days=1)
        self.person.change("invoices", int(id), invoiceTotal=str(amount))

    def delete_invoice(self, id: str) -> None:
        self.clock.advance(days=1)
        self.person.delete("invoices", int(id))

    def payment_command(self, invoice_id: str, amount: Decimal, key: str) -> Command:
        return payment_command(invoice_id, amount, key)

    def payments_of(self, invoice_id: str) -> int:
        """Count the payment notes on the invoice, as a person reading it would."""
        invoice = self.person.get("Invoices", int(invoice_id)) or {}
        lines = (invoice.get("comments") or "").splitlines()
        return sum(line.startswith("arbridge payment ") for line in lines)

    def fail(self, rate: float, kinds: Iterable[str] = FAULT_KINDS) -> None:
        faults = {"error_rate": rate, "error_kinds": list(kinds), "seed": 302}
        control(self.app).post("/_sandbox/faults", json=faults).raise_for_status()

    def failures(self) -> int:
        return control(self.app).get("/_sandbox/stats").json()["failed"]

    def hints(self) -> list[tuple[str, list[str]]]:
        return []


class TestAutotask(ConnectorContract):
    @pytest.fixture
    def vendor(self) -> AutotaskVendor:
        return AutotaskVendor()
