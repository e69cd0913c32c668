"""API fixtures: a key for alice's partner, a client that sends it, and rows to read."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from arbridge.core.models import ApiKey, Partner
from arbridge.integrations.models import Connection
from arbridge.ledger.models import Customer, Invoice


@pytest.fixture
def api_key(partner, alice) -> str:
    _, raw = ApiKey.issue(partner, "accounting export", created_by=alice)
    return raw


@pytest.fixture
def api_client(api_key) -> Client:
    return Client(headers={"Authorization": f"Bearer {api_key}"})


@pytest.fixture
def connection(partner) -> Connection:
    return Connection.objects.create(
        partner=partner,
        kind="qbo",
        name="Acme books",
        role=Connection.Role.PRIMARY,
        status=Connection.Status.CONNECTED,
        credentials={"access_token": "secret-access-token", "refresh_token": "secret-refresh"},
    )


@pytest.fixture
def customer(partner) -> Customer:
    return Customer.objects.create(partner=partner, name="Globex", email="ap@globex.example")


@pytest.fixture
def make_invoice():
    """Return a function that creates an open invoice for a customer."""

    def make_invoice(customer: Customer, number: str, total: str = "100.00", **fields) -> Invoice:
        fields.setdefault("issue_date", dt.date(2025, 3, 1))
        fields.setdefault("balance", Decimal(total))
        return Invoice.objects.create(
            partner_id=customer.partner_id,
            customer=customer,
            number=number,
            total=Decimal(total),
            **fields,
        )

    return make_invoice


@pytest.fixture
def outsider_customer(other_partner: Partner) -> Customer:
    return Customer.objects.create(partner=other_partner, name="Initech")
