"""Business Central through the Django-side contract."""

import json
from decimal import Decimal

import pytest

from tests.integrations.contract import DjangoContract


class TestBusinessCentral(DjangoContract):
    def bill(self, books, customer: str, amount: str) -> str:
        return books.invoice(books.customer(customer, "ap@example.com"), amount)["id"]

    def paid(self, books, remote_id: str) -> list[Decimal]:
        return books.payments_of(remote_id)

    def forged(self, connection):
        company = connection.remote_account.split("/")[2]
        note = {
            "subscriptionId": "0b0c",
            "clientState": "guessed",
            "resource": f"/api/v2.0/companies({company})/salesInvoices(1)",
            "changeType": "updated",
            "lastModifiedDateTime": "2026-03-02T17:00:00Z",
        }
        url = f"/webhooks/business_central/{connection.pk}"
        return url, json.dumps({"value": [note]}).encode(), {}

    def ready_to_write(self, client, connection) -> None:
        books = self.current_books
        client.force_login(connection.partner.memberships.get().user)
        url = f"/integrations/{connection.pk}/preferences/"
        form = {"payment_journal": "ARBRIDGE", "payment_account_id": books.account_id("10100"),
                "deposit_journal": "ARBDEPOSIT", "currency": "USD"}  # fmt: skip
        response = client.post(url, form)
        assert response.status_code == 302, response.content.decode()[:2000]

    @pytest.fixture
    def books(self, acme_books):
        """The bookkeeper of the company the partner connected."""
        self.current_books = acme_books
        return acme_books
