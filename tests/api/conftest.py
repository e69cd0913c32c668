"""API fixtures: a key for alice's partner, a client that sends it, and rows to read."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import models
from django.test import Client

from arbridge.autopay.models import Enrollment, Rule
from arbridge.collections.models import CustomerPolicy, ReminderEmail, Sequence
from arbridge.core.models import ApiKey, Connection, Partner
from arbridge.hooks.models import Delivery, Endpoint, Event, new_secret
from arbridge.integrations.models import ExceptionItem, SyncRun
from arbridge.ledger.models import Customer, Deposit, Invoice, Payment
from arbridge.payments.models import SavedMethod
from arbridge.portal.models import PortalLink


@pytest.fixture
def api_key(partner, alice) -> str:
    _, raw = ApiKey.issue(partner, "accounting export", created_by=alice, scope=ApiKey.Scope.WRITE)
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


def make_rows(partner: Partner, name: str) -> dict[type[models.Model], models.Model]:
    """Make one row of every resource the API serves, all belonging to the partner."""
    connection = Connection.objects.create(
        partner=partner, kind="qbo", name=f"{name} books", status=Connection.Status.CONNECTED
    )
    customer = Customer.objects.create(partner=partner, name=f"{name} customer")
    endpoint = Endpoint.objects.create(
        partner=partner,
        url="http://127.0.0.1:9/hooks",  # the discard port: nothing answers
        events=["invoice.paid"],
        secrets={"current": new_secret()},
    )
    event = Event.objects.create(partner=partner, key="k", type="invoice.paid", data={})
    return {
        Endpoint: endpoint,
        Delivery: Delivery.objects.create(partner=partner, event=event, endpoint=endpoint),
        Connection: connection,
        Customer: customer,
        Invoice: Invoice.objects.create(
            partner=partner,
            customer=customer,
            connection=connection,
            number="INV-1",
            issue_date=dt.date(2025, 3, 1),
            total=Decimal("10.00"),
            balance=Decimal("10.00"),
        ),
        Payment: Payment.objects.create(
            partner=partner, customer=customer, connection=connection, amount=Decimal("5.00")
        ),
        Deposit: Deposit.objects.create(
            partner=partner, amount=Decimal("4.70"), processor_reference=f"{name}-po"
        ),
        SyncRun: SyncRun.objects.create(partner=partner, connection=connection),
        ExceptionItem: ExceptionItem.objects.create(
            partner=partner, connection=connection, kind="other", title=f"{name} problem"
        ),
        Sequence: Sequence.objects.create(partner=partner, name=f"{name} firm"),
        ReminderEmail: ReminderEmail.objects.create(
            partner=partner, customer=customer, status=ReminderEmail.Status.SENT
        ),
        CustomerPolicy: CustomerPolicy.objects.create(
            partner=partner, customer=customer, paused=True, pause_reason=f"{name} talks"
        ),
        # Auto pay: the customer enrolled, a rule that charges the invoice from today.
        Enrollment: Enrollment.enroll(
            SavedMethod.objects.create(
                partner=partner,
                customer=customer,
                processor="sandbox",
                token=f"pm_{name}",
                kind="card",
                brand="visa",
                last4="4242",
            ),
            source=Enrollment.Source.PARTNER,
            evidence={"authorized_by": f"{name} AP"},
        ),
        Rule: Rule.objects.create(partner=partner, trigger=Rule.Trigger.AFTER_CREATED),
        PortalLink: PortalLink.issue(customer),
    }


@pytest.fixture
def own_rows(partner) -> dict[type[models.Model], models.Model]:
    """Return one row of every resource for alice's partner."""
    return make_rows(partner, "Acme")


@pytest.fixture
def outsider_rows(other_partner) -> dict[type[models.Model], models.Model]:
    """Return one row of every resource for the other partner, which alice must never see."""
    return make_rows(other_partner, "Other")
