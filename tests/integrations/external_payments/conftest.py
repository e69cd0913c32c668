"""QuickBooks Online and ConnectWise sandboxes on loopback HTTP, and Acme connected to both.

A bookkeeper works in QuickBooks (`books`), a billing person in ConnectWise
(`cw`); arbridge's jobs reach both over real HTTP. `pay_in_quickbooks`
records a payment there and syncs it in; `reconcile` runs the external
payments pass with its writes delivered, as the worker would.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.integrations.qbo.fixtures")

from arbridge.core.models import Connection  # noqa: E402
from arbridge.integrations import external_payments  # noqa: E402
from arbridge.integrations.models import IntegrationPreferences  # noqa: E402
from arbridge.sandbox.connectwise.app import dumps  # noqa: E402
from arbridge.sandbox.connectwise.seed import api_client  # noqa: E402
from tests.integrations.psa.conftest import (  # noqa: E402, F401
    connect_connectwise,
    connectwise_sandbox,
    connectwise_url,
    fresh_limiters,
    psa_server,
)
from tests.integrations.qbo.fixtures import (  # noqa: E402, F401
    company,
    deliver,
    quickbooks,
    receiver,
    sandbox,
    sandbox_server,
    sync,
    webhook_format,
)


class ConnectWiseBilling:
    """A billing person at work in the ConnectWise sandbox, through its API."""

    def __init__(self, app) -> None:
        self.http = api_client(app)
        self.companies: dict[str, int] = {}

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(
            method, path, content=dumps(body) if body is not None else None
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def company(self, name: str) -> int:
        if name not in self.companies:
            self.companies[name] = self.call("POST", "/company/companies", {"name": name})["id"]
        return self.companies[name]

    def invoice(self, customer: str, total: str, number: str, closed: bool = True) -> dict:
        body = {
            "type": "Standard",
            "invoiceNumber": number,
            "company": {"id": self.company(customer)},
            "date": "2026-03-02T00:00:00Z",
            "dueDate": "2026-04-01T00:00:00Z",
            "total": Decimal(total),
            "currency": {"id": 7, "currencyCode": "USD"},
        }
        if closed:
            body["status"] = {"id": 3, "name": "Closed"}
        return self.call("POST", "/finance/invoices", body)

    def change(self, invoice: dict, **fields: Any) -> dict:
        operations = [{"op": "replace", "path": k, "value": v} for k, v in fields.items()]
        return self.call("PATCH", f"/finance/invoices/{invoice['id']}", operations)

    def pay(self, invoice: dict, amount: str, date: dt.date) -> dict:
        """Enter a payment by hand, as a person in ConnectWise would."""
        body = {"type": "Payment", "amount": Decimal(amount),
                "paymentDate": f"{date.isoformat()}T00:00:00Z"}  # fmt: skip
        return self.call("POST", f"/finance/invoices/{invoice['id']}/payments", body)

    def payments(self, invoice: dict) -> list[tuple[Decimal, str]]:
        """Return the invoice's payments as (amount, date) pairs."""
        rows = self.call("GET", f"/finance/invoices/{invoice['id']}/payments?pageSize=1000")
        return sorted((Decimal(str(row["amount"])), row["paymentDate"][:10]) for row in rows)


@pytest.fixture
def cw(connectwise_sandbox) -> ConnectWiseBilling:  # noqa: F811
    return ConnectWiseBilling(connectwise_sandbox)


@pytest.fixture
def books(company):  # noqa: F811
    return company


@pytest.fixture
def connectwise(partner, connectwise_url) -> Connection:  # noqa: F811
    """Acme's ConnectWise, third to its QuickBooks Online, without callbacks."""
    connection = Connection(
        partner=partner,
        kind="connectwise",
        role=Connection.Role.TERTIARY,
        preferences={"callbacks": False},
    )
    return connect_connectwise(connection, connectwise_url)


@pytest.fixture
def preferences(partner, quickbooks, connectwise) -> IntegrationPreferences:  # noqa: F811
    """External payments sync turned on, as on Integrations > Preferences."""
    preferences = IntegrationPreferences.for_partner_of(partner.pk)
    external_payments.turn_on(preferences, True)
    return preferences


@pytest.fixture
def reconcile(partner, django_capture_on_commit_callbacks):
    """Return a function that runs the external payments pass and delivers its writes."""

    def reconcile() -> None:
        for _ in range(3):  # an edit is a delete, then a create on the next pass
            with django_capture_on_commit_callbacks(execute=True):
                external_payments.reconcile(partner.pk)

    return reconcile
