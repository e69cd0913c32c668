"""Collections setup: Globex owes Acme, Hank is its billing contact, Homer is not.

Days are counted from DUE, the due date of Globex's invoice INV-1001; `day(n)`
moves the clock to n days after it (before it, when negative) and runs the
reminder job as the hourly schedule would.
"""

import datetime as dt
import re
from decimal import Decimal
from email.message import EmailMessage

import pytest

# Before anything imports them: their asserts read as pytest's do.
pytest.register_assert_rewrite(
    "tests.integrations.qbo.fixtures",
    "tests.payments.fixtures",
    "tests.portal.fixtures",
    "tests.portal.test_pay",
)

from arbridge.collections import tasks  # noqa: E402
from arbridge.ledger.models import Contact, Customer, Invoice, InvoiceLine  # noqa: E402

DUE = dt.date(2026, 3, 31)


def make_invoice(customer: Customer, number: str, total: str, due: dt.date = DUE) -> Invoice:
    invoice = Invoice.objects.create(
        partner_id=customer.partner_id,
        customer=customer,
        number=number,
        issue_date=due - dt.timedelta(days=30),
        due_date=due,
        total=Decimal(total),
    )
    InvoiceLine.objects.create(
        partner_id=customer.partner_id,
        invoice=invoice,
        description="Managed services",
        amount=Decimal(total),
    )
    return invoice


@pytest.fixture
def globex(partner) -> Customer:
    customer = Customer.objects.create(
        partner=partner, name="Globex Corporation", email="ap@globex.example"
    )
    Contact.objects.create(
        partner=partner,
        customer=customer,
        name="Hank",
        email="hank@globex.example",
        is_billing=True,
    )
    Contact.objects.create(
        partner=partner, customer=customer, name="Homer", email="homer@globex.example"
    )
    return customer


@pytest.fixture
def overdue(globex) -> Invoice:
    return make_invoice(globex, "INV-1001", "1500.00")


class Days:
    """The clock, moved a day at a time, with the reminder job run at each stop."""

    def __init__(self, traveller) -> None:
        self.traveller = traveller

    def __call__(self, n: int, run: bool = True) -> dt.date:
        date = DUE + dt.timedelta(days=n)
        self.traveller.move_to(dt.datetime.combine(date, dt.time(9, 15), tzinfo=dt.UTC))
        if run:
            tasks.run_reminders()
        return date


@pytest.fixture
def day(time_machine) -> Days:
    days = Days(time_machine)
    days(-30, run=False)
    return days


def pay_link(message: EmailMessage) -> str:
    """Return the portal pay link in a reminder, as a path on arbridge."""
    match = re.search(r"Pay online: https?://[^/]+(/\S+)", message.get_content())
    assert match, message.get_content()
    return match.group(1)
