"""Sage Intacct through the Django-side contract."""

from decimal import Decimal

import pytest

from tests.integrations.contract import DjangoContract
from tests.integrations.sage_intacct.conftest import COMPANY


class Books:
    """Acme's bookkeeper, working in the East entity."""

    def __init__(self, app) -> None:
        self.store = app.store

    def invoice(self, customer: str, amount: str) -> str:
        found = [
            c for c in self.store.companies[COMPANY].customers.values() if c["NAME"] == customer
        ]
        row = (
            found[0]
            if found
            else self.store.add_customer(COMPANY, customer, email="ap@example.com", entity="EAST")
        )
        return self.store.add_invoice(
            COMPANY, row["CUSTOMERID"], [("Managed services", Decimal(amount))]
        )["RECORDNO"]

    def paid(self, remote_id: str) -> list[Decimal]:
        return [
            Decimal(p["APPLIED"][remote_id]) for p in self.store.payments_of(COMPANY, remote_id)
        ]


class TestSageIntacct(DjangoContract):
    @pytest.fixture
    def books(self, intacct):
        return Books(intacct)

    def bill(self, books, customer: str, amount: str) -> str:
        return books.invoice(customer, amount)

    def paid(self, books, remote_id: str) -> list[Decimal]:
        return books.paid(remote_id)

    def forged(self, connection):
        raise AssertionError("Sage Intacct sends no webhooks")

    def ready_to_write(self, client, connection) -> None:
        client.force_login(connection.partner.memberships.get().user)
        url = f"/integrations/{connection.pk}/preferences/"
        response = client.post(url, {"payment_account_id": "BOA-OPERATING", "currency": "USD"})
        assert response.status_code == 302, response.content.decode()[:2000]
