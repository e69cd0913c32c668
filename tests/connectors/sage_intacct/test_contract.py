"""The connector contract, run for Sage Intacct against its sandbox."""

from collections.abc import Iterable
from decimal import Decimal

import pytest

from arbridge.connectors.base import Command
from arbridge.connectors.sage_intacct import SageIntacct
from arbridge.sandbox.sage_intacct import create_app
from tests.connectors.contract import FAULT_KINDS, ConnectorContract, payment_command
from tests.connectors.sage_intacct.books import connect

COMPANY = "acme-it"


class SageIntacctVendor:
    """A sandbox company and its bookkeeper; Intacct sends no webhooks."""

    has_webhooks = False
    deletes_customers = True  # a customer without transactions can be deleted

    def __init__(self) -> None:
        self.app = create_app()
        self.store = self.app.store
        self.store.add_company(COMPANY, "Acme IT")

    def connector(self) -> SageIntacct:
        return connect(self.app, COMPANY, payment_account_id="BOA-OPERATING")

    def create_customer(self, name: str) -> str:
        email = f"ap@{''.join(ch for ch in name.lower() if ch.isalnum())}.example"
        return self.store.add_customer(COMPANY, name, email=email)["CUSTOMERID"]

    def rename_customer(self, id: str, name: str) -> None:
        self.store.change_customer(COMPANY, id, NAME=name)

    def delete_customer(self, id: str) -> None:
        self.store.delete_customer(COMPANY, id)

    def create_invoice(self, customer_id: str, amount: Decimal) -> str:
        return self.store.add_invoice(COMPANY, customer_id, [("Managed services", amount)])[
            "RECORDNO"
        ]

    def change_invoice(self, id: str, amount: Decimal) -> None:
        self.store.change_invoice(COMPANY, id, [("Managed services", amount)])

    def delete_invoice(self, id: str) -> None:
        self.store.delete_invoice(COMPANY, id)

    def payment_command(self, invoice_id: str, amount: Decimal, key: str) -> Command:
        return payment_command(invoice_id, amount, key)

    def payments_of(self, invoice_id: str) -> int:
        return len(self.store.payments_of(COMPANY, invoice_id))

    def fail(self, rate: float, kinds: Iterable[str] = FAULT_KINDS) -> None:
        self.app.limiter.configure(
            type(self.app.limiter.faults)(
                error_rate=rate, error_kinds=list(kinds), timeout_ms=1, seed=302
            )
        )

    def failures(self) -> int:
        return self.app.limiter.report()["companies"].get(COMPANY, {}).get("faults", 0)

    def hints(self) -> list[tuple[str, list[str]]]:
        return []


class TestSageIntacct(ConnectorContract):
    @pytest.fixture
    def vendor(self) -> SageIntacctVendor:
        return SageIntacctVendor()
