"""HaloPSA through the Django-side contract: connected with the form's credentials."""

import json
from decimal import Decimal

import pytest

from tests.integrations.contract import DjangoContract


class TestHaloPSA(DjangoContract):
    @pytest.fixture
    def connected(self, halopsa):
        return halopsa

    @pytest.fixture
    def books(self, halo):
        return halo

    def bill(self, books, customer: str, amount: str) -> str:
        return str(books.invoice(books.client(customer), ("Managed services", 1, amount))["id"])

    def paid(self, books, remote_id: str) -> list[Decimal]:
        rows = books.get("InvoicePayment", invoice_id=remote_id)
        rows = rows.get("invoicepayments", rows) if isinstance(rows, dict) else rows
        return [Decimal(str(row["amount"])) for row in rows]

    def forged(self, connection):
        event = {"id": "e1", "event": "Invoice Updated", "object_type": "invoice", "object_id": 1}
        body = json.dumps([event]).encode()
        url = f"/webhooks/halopsa/{connection.pk}"
        return url, body, {"X-Arbridge-Secret": "not-the-secret"}
