"""A DataGate account whose exports a partner hands over, as the contract drives it."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.base import Command, Config, DroppedFile, Runtime
from arbridge.connectors.datagate import DataGate, default_mapping
from arbridge.sandbox.datagate.exports import HEADERS, Account

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
MAPPING = default_mapping(list(HEADERS))


def dropped(data: bytes, at: dt.datetime = START, name: str = "export.csv", mapping=None):
    return DroppedFile(name, hashlib.sha256(data).hexdigest(), at, mapping or MAPPING, lambda: data)


def connector(files=(), **preferences) -> DataGate:
    return DataGate(Config(base_url="", preferences=preferences), httpx.Client(),
                    Runtime(files=lambda: list(files)))  # fmt: skip


class DataGateVendor:
    """The account; each pull is handed a new export of what changed since the last one."""

    has_webhooks = False
    deletes_customers = False  # DataGate's invoice export lists invoices, never a deletion

    def __init__(self) -> None:
        self.account = Account(rng=random.Random(7))
        self.files: list[DroppedFile] = []

    def handed_over(self) -> list[DroppedFile]:
        if self.account.changed:
            at = START + dt.timedelta(hours=len(self.files))
            self.files.append(dropped(self.account.export(), at, f"export-{len(self.files)}.csv"))
        return list(self.files)

    def connector(self) -> DataGate:
        return DataGate(Config(base_url=""), httpx.Client(), Runtime(files=self.handed_over))

    def create_customer(self, name: str) -> str:
        return self.account.add_customer(name)

    def rename_customer(self, id: str, name: str) -> None:
        self.account.rename_customer(id, name)

    def delete_customer(self, id: str) -> None:
        raise NotImplementedError

    def create_invoice(self, customer_id: str, amount: Decimal) -> str:
        return self.account.bill(customer_id, total=amount)

    def change_invoice(self, id: str, amount: Decimal) -> None:
        self.account.change_invoice(id, amount)

    def delete_invoice(self, id: str) -> None:
        self.account.void(id)

    def payment_command(self, invoice_id: str, amount: Decimal, key: str) -> Command:
        payload = {"amount": str(amount), "allocations": [{"invoice_remote_id": invoice_id}]}
        return Command("create_payment", payload, key)

    def payments_of(self, invoice_id: str) -> int:
        return 0

    def fail(self, rate: float, kinds=()) -> None:
        """A file has no responses to lose."""

    def failures(self) -> int:
        return 0

    def hints(self) -> list:
        return []


@pytest.fixture
def account() -> Account:
    return Account(rng=random.Random(3))
