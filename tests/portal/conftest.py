"""The portal's people and rows: Globex (Acme's customer) and the others it must never see.

Globex has two open invoices and a billing contact, Hank. Initech is another
Acme customer; Umbrella belongs to the other partner. The SMTP server and the
processor are in tests/portal/fixtures.py.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client, TestCase

from arbridge.core import clock
from arbridge.ledger.models import Contact, Customer, Invoice, InvoiceLine
from arbridge.portal.models import PortalLink

# Their asserts read as pytest's do, where test modules load them as plugins.
pytest.register_assert_rewrite(
    "tests.integrations.qbo.fixtures", "tests.payments.fixtures", "tests.portal.fixtures"
)


def make_invoice(customer: Customer, number: str, total: str, due_in_days: int) -> Invoice:
    invoice = Invoice.objects.create(
        partner_id=customer.partner_id,
        customer=customer,
        number=number,
        issue_date=clock.today() - dt.timedelta(days=30),
        due_date=clock.today() + dt.timedelta(days=due_in_days),
        total=Decimal(total),
        terms="Net 30",
    )
    InvoiceLine.objects.create(
        partner_id=customer.partner_id,
        invoice=invoice,
        position=1,
        item="Managed services",
        description=f"Per-seat support for {number}",
        quantity=Decimal(10),
        unit_price=Decimal(total) / 10,
        amount=Decimal(total),
    )
    return invoice


@pytest.fixture
def globex(partner) -> Customer:
    customer = Customer.objects.create(
        partner=partner, name="Globex Corporation", email="ap@globex.example", billing_state="CA"
    )
    Contact.objects.create(
        partner=partner,
        customer=customer,
        name="Hank Scorpio",
        email="hank@globex.example",
        is_billing=True,
    )
    Contact.objects.create(
        partner=partner, customer=customer, name="Homer", email="homer@globex.example"
    )
    return customer


@pytest.fixture
def overdue(globex) -> Invoice:
    return make_invoice(globex, "INV-1001", "1500.00", due_in_days=-5)


@pytest.fixture
def current(globex) -> Invoice:
    return make_invoice(globex, "INV-1002", "450.00", due_in_days=20)


@pytest.fixture
def initech(partner) -> Customer:
    return Customer.objects.create(partner=partner, name="Initech", email="ap@initech.example")


@pytest.fixture
def initech_invoice(initech) -> Invoice:
    return make_invoice(initech, "INV-2001", "99.00", due_in_days=10)


@pytest.fixture
def umbrella(other_partner) -> Customer:
    return Customer.objects.create(
        partner=other_partner, name="Umbrella Corp", email="ap@umbrella.example"
    )


@pytest.fixture
def umbrella_invoice(umbrella) -> Invoice:
    return make_invoice(umbrella, "INV-9001", "700.00", due_in_days=10)


@pytest.fixture
def link(globex) -> PortalLink:
    return PortalLink.issue(globex)


class CommittingClient(Client):
    """A browser whose every request ends as a committed request does in production.

    The test's transaction never commits, so the jobs a request enqueues on
    commit (the receipt email, write-backs) run as the response returns.
    """

    def request(self, **request):
        with TestCase.captureOnCommitCallbacks(execute=True):
            return super().request(**request)


@pytest.fixture
def portal(link) -> Client:
    """A browser that opened Globex's portal link."""
    client = CommittingClient()
    response = client.get(link.get_absolute_url())
    assert response.status_code == 302
    return client
