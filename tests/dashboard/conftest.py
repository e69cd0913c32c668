"""Acme's rows for the dashboard tests: one of each thing a page shows.

Built plainly through the ledger's own methods, as a sync would leave them.
"""

import datetime as dt
from decimal import Decimal

import pytest

from arbridge.core import clock
from arbridge.core.models import ApiKey, Connection
from arbridge.integrations.models import ExceptionItem, ExternalRef, SyncRun
from arbridge.ledger.models import Contact, Credit, Customer, Invoice, InvoiceLine, Payment


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Hash the fixtures' passwords cheaply; PBKDF2 costs a third of a second a user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def connection(partner) -> Connection:
    return Connection.objects.create(
        partner=partner,
        kind="qbo",
        role=Connection.Role.PRIMARY,
        status=Connection.Status.CONNECTED,
        last_synced_at=clock.now() - dt.timedelta(minutes=5),
    )


@pytest.fixture
def customer(partner, connection) -> Customer:
    customer = Customer.objects.create(
        partner=partner, name="Globex Corporation", email="ap@globex.example"
    )
    Contact.objects.create(
        partner=partner,
        customer=customer,
        name="Hank Scorpio",
        email="hank@globex.example",
        is_billing=True,
    )
    Contact.objects.create(
        partner=partner, customer=customer, name="Homer Simpson", email="homer@globex.example"
    )
    ExternalRef.objects.create(
        partner=partner,
        connection=connection,
        entity=ExternalRef.Entity.CUSTOMER,
        remote_id="58",
        local_id=customer.pk,
    )
    return customer


def make_invoice(customer: Customer, number: str, total: str, **fields) -> Invoice:
    return Invoice.objects.create(
        partner_id=customer.partner_id,
        customer=customer,
        number=number,
        issue_date=fields.pop("issue_date", dt.date(2025, 3, 1)),
        total=Decimal(total),
        balance=Decimal(total),
        **fields,
    )


@pytest.fixture
def invoice(partner, connection, customer) -> Invoice:
    """A partly paid invoice with two lines, a card payment and a credit."""
    invoice = make_invoice(
        customer,
        "INV-1001",
        "1500.00",
        connection=connection,
        due_date=dt.date(2025, 3, 31),
        terms="Net 30",
    )
    InvoiceLine.objects.create(
        partner=partner,
        invoice=invoice,
        position=1,
        item="Managed services",
        description="Per-seat support, March",
        quantity=Decimal("20"),
        unit_price=Decimal("60"),
        amount=Decimal("1200.00"),
    )
    InvoiceLine.objects.create(
        partner=partner,
        invoice=invoice,
        position=2,
        item="Backup",
        description="Offsite backup, 1 TB",
        quantity=Decimal("1"),
        unit_price=Decimal("300"),
        amount=Decimal("300.00"),
    )
    payment = Payment.objects.create(
        partner=partner,
        customer=customer,
        amount=Decimal("400.00"),
        method=Payment.Method.CARD,
        status=Payment.Status.SUCCEEDED,
        reference="ch_4242",
    )
    payment.allocate(invoice, Decimal("400.00"))
    Credit.apply(invoice, Decimal("100.00"), reference="CM-7", connection=connection)
    ExternalRef.objects.create(
        partner=partner,
        connection=connection,
        entity=ExternalRef.Entity.INVOICE,
        remote_id="1337",
        local_id=invoice.pk,
    )
    invoice.refresh_from_db()
    return invoice


@pytest.fixture
def sync_run(partner, connection) -> SyncRun:
    started = clock.now() - dt.timedelta(minutes=6)
    return SyncRun.objects.create(
        partner=partner,
        connection=connection,
        status=SyncRun.Status.FAILED,
        created=12,
        updated=3,
        errors=1,
        error_message="Customer 77 has no display name",
        started_at=started,
        finished_at=started + dt.timedelta(seconds=95),
    )


@pytest.fixture
def exception_item(partner, connection, sync_run) -> ExceptionItem:
    return ExceptionItem.objects.create(
        partner=partner,
        connection=connection,
        sync_run=sync_run,
        kind=ExceptionItem.Kind.MALFORMED_RECORD,
        title="Customer 77 could not be read",
        reason="DisplayName is missing",
        raw_payload='{"Id": "77", "DisplayName": null}',
        entity="customer",
        remote_id="77",
    )


@pytest.fixture
def api_key(partner, alice) -> ApiKey:
    key, _ = ApiKey.issue(partner, "Reporting", created_by=alice)
    return key
