"""ConnectWise PSA through the Django-side contract: connected with the form's credentials."""

import json
from decimal import Decimal

import pytest

from arbridge.core.models import Connection
from tests.integrations.contract import DjangoContract
from tests.integrations.psa.conftest import connect_connectwise
from tests.sandbox.connectwise.api import CW


class TestConnectWise(DjangoContract):
    @pytest.fixture
    def connected(self, partner, connectwise_url):
        return connect_connectwise(Connection(partner=partner, kind="connectwise"), connectwise_url)

    @pytest.fixture
    def books(self, connectwise_sandbox):
        return CW(connectwise_sandbox)

    def bill(self, books, customer: str, amount: str) -> str:
        return str(books.invoice(books.company(customer), amount)["id"])

    def paid(self, books, remote_id: str) -> list[Decimal]:
        rows = books.get(f"/finance/invoices/{remote_id}/payments")
        return [Decimal(str(row["amount"])) for row in rows]

    def forged(self, connection):
        # Signed with a key of its own choosing, named by a URL off the connection's site.
        body = json.dumps(
            {
                "Action": "updated",
                "Type": "invoice",
                "ID": 1,
                "Metadata": {"key_url": "https://attacker.example/callback-keys/1"},
            }
        ).encode()
        return f"/webhooks/connectwise/{connection.pk}", body, {"x-content-signature": "Zm9yZ2Vk"}
