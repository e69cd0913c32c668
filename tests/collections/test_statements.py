"""Monthly statements from a real SMTP server: once a customer a month, on the partner's day."""

import datetime as dt

import pytest
from django.test import Client

from arbridge.collections.models import (
    CollectionsSettings,
    CustomerPolicy,
    ReminderEmail,
    Statement,
)
from arbridge.ledger.models import Contact, Customer
from tests.collections.conftest import DUE, make_invoice, pay_link
from tests.portal.fixtures import free_port

pytest_plugins = ["tests.payments.fixtures", "tests.portal.fixtures"]

# The 5th of the month after DUE (March 31st).
STATEMENT_DAY = 5
APRIL_5 = (dt.date(2026, 4, 5) - DUE).days


def statements(inbox) -> list:
    return [m for m in inbox.messages if m["Subject"].startswith("Statement")]


@pytest.fixture
def on_the_fifth(partner):
    settings = CollectionsSettings.for_partner(partner)
    settings.statement_day = STATEMENT_DAY
    settings.save()
    return settings


@pytest.fixture
def globex_owes(globex):
    return [
        make_invoice(globex, "INV-1001", "1500.00"),
        make_invoice(globex, "INV-0990", "200.00", due=DUE - dt.timedelta(days=45)),
        make_invoice(globex, "INV-1010", "300.00", due=DUE + dt.timedelta(days=10)),
    ]


def test_a_statement_goes_on_the_partners_day_with_open_invoices_and_aging(
    day, on_the_fifth, globex_owes, inbox
):
    day(APRIL_5 - 1)
    assert statements(inbox) == []

    day(APRIL_5)
    (message,) = statements(inbox)
    assert message["Subject"] == "Statement from Acme IT for April 2026: 2,000.00 USD open"
    assert message["X-Envelope-To"] == "hank@globex.example"
    body = message.get_content()
    for number in ("INV-1001", "INV-0990", "INV-1010"):
        assert number in body
    assert "Current: 300.00 USD" in body
    assert "1-30 days: 1,500.00 USD" in body
    assert "31-60 days: 200.00 USD" in body
    assert "61-90 days: 0.00 USD" in body and "Over 90 days: 0.00 USD" in body
    assert "Balance due: 2,000.00 USD" in body

    browser = Client()
    response = browser.get(pay_link(message))
    assert response.status_code == 302
    assert "INV-1001" in browser.get(response["Location"]).content.decode()


def test_it_is_sent_once_a_month_whatever_the_runs(day, on_the_fifth, globex_owes, inbox):
    for n in range(APRIL_5, APRIL_5 + 30):
        day(n)
        day(n)  # the next hour
    day(APRIL_5 + 30)  # May 5th: May's statement

    assert [m["Subject"].split(" for ")[1].split(":")[0] for m in statements(inbox)] == [
        "April 2026",
        "May 2026",
    ]
    assert list(Statement.objects.values_list("month", flat=True)) == [
        dt.date(2026, 5, 1),
        dt.date(2026, 4, 1),
    ]


def test_a_worker_down_on_the_day_sends_it_at_the_next_run(day, on_the_fifth, globex_owes, inbox):
    day(APRIL_5 - 1)
    for n in range(APRIL_5, APRIL_5 + 3):
        day(n, run=False)
    day(APRIL_5 + 3)
    day(APRIL_5 + 4)

    (message,) = statements(inbox)
    assert "April 2026" in message["Subject"]


def test_only_customers_owing_and_not_paused_get_one(
    day, partner, on_the_fifth, globex_owes, inbox
):
    paid_up = Customer.objects.create(partner=partner, name="Paid Up Inc")
    Contact.objects.create(
        partner=partner, customer=paid_up, email="ap@paidup.example", is_billing=True
    )
    initech = Customer.objects.create(partner=partner, name="Initech")
    Contact.objects.create(
        partner=partner, customer=initech, email="bill@initech.example", is_billing=True
    )
    make_invoice(initech, "INV-2001", "99.00")
    CustomerPolicy.for_customer(initech).pause(reason="In talks")

    day(APRIL_5)

    assert [m["X-Envelope-To"] for m in statements(inbox)] == ["hank@globex.example"]


def test_no_statement_day_sends_none(day, partner, globex_owes, inbox):
    for n in range(APRIL_5 - 5, APRIL_5 + 30):
        day(n)

    assert statements(inbox) == []
    assert not Statement.objects.exists()


def test_a_failed_statement_is_kept_and_retried(day, on_the_fifth, globex_owes, inbox, settings):
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()
    day(APRIL_5)
    email = ReminderEmail.objects.get(kind=ReminderEmail.Kind.STATEMENT)
    assert email.status == ReminderEmail.Status.FAILED
    assert "Could not reach the SMTP server" in email.error

    settings.EMAIL_PORT = port
    day(APRIL_5 + 1)
    email.refresh_from_db()
    assert email.status == ReminderEmail.Status.SENT
    assert len(statements(inbox)) == 1


def test_reminders_switched_off_leave_statements_on(day, on_the_fifth, globex_owes, inbox):
    on_the_fifth.reminders_enabled = False
    on_the_fifth.save()
    for n in range(APRIL_5 - 3, APRIL_5 + 1):
        day(n)

    assert [m["Subject"].split(":")[0] for m in inbox.messages] == [
        "Statement from Acme IT for April 2026"
    ]
