"""QuickBooks Online through the Django-side contract."""

import json
from decimal import Decimal

import pytest

from tests.integrations.contract import DjangoContract


class TestQuickBooksOnline(DjangoContract):
    @pytest.fixture
    def connected(self, qbo):
        return qbo

    @pytest.fixture
    def books(self, company):
        return company

    def bill(self, books, customer: str, amount: str) -> str:
        return books.invoice(books.customer(customer), amount)["Id"]

    def paid(self, books, remote_id: str) -> list[Decimal]:
        return [Decimal(str(p["TotalAmt"])) for p in books.payments_of(remote_id)]

    def forged(self, connection):
        body = json.dumps(
            {"eventNotifications": [{"realmId": connection.remote_account, "dataChangeEvent": {}}]}
        ).encode()
        return "/webhooks/qbo", body, {"intuit-signature": "bm90IGEgc2lnbmF0dXJl"}
