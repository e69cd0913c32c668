"""The worklist: who owes most for longest, what went, what comes next; send now, pause, notes."""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from arbridge.collections.models import CustomerPolicy, Note, ReminderEmail
from arbridge.core.models import AuditEntry, Membership
from arbridge.ledger.models import Contact, Customer
from tests.collections.conftest import DUE, make_invoice

pytest_plugins = ["tests.payments.fixtures", "tests.portal.fixtures"]

HANK = "hank@globex.example"
WORKLIST = "/collections/"


@pytest.fixture
def initech(partner) -> Customer:
    customer = Customer.objects.create(partner=partner, name="Initech")
    Contact.objects.create(
        partner=partner, customer=customer, email="bill@initech.example", is_billing=True
    )
    return customer


@pytest.fixture
def owing(globex, initech, partner):
    """Globex and Initech owe 1,500.00 each, Initech for longer; Umbrella owes 90.00."""
    make_invoice(globex, "INV-1001", "1500.00")
    make_invoice(initech, "INV-2001", "700.00", due=DUE - dt.timedelta(days=10))
    make_invoice(initech, "INV-2002", "800.00")
    make_invoice(initech, "INV-2003", "5000.00", due=DUE + dt.timedelta(days=60))  # not due
    umbrella = Customer.objects.create(partner=partner, name="Umbrella")
    make_invoice(umbrella, "INV-3001", "90.00", due=DUE - dt.timedelta(days=40))


def rows(page: str) -> list[list[str]]:
    """Return the worklist's rows as the text of their cells."""
    body = page.split('data-testid="worklist"')[1].split("</tbody>")[0]
    return [
        [
            " ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in re.findall(r"<tr data-customer[^>]*>(.*?)</tr>", body, re.S)
    ]


def test_customers_by_amount_overdue_then_days_late_with_last_and_next(
    client, alice, day, owing, inbox
):
    day(3)
    client.force_login(alice)

    table = rows(client.get(WORKLIST).content.decode())

    assert [(r[0].split(" ")[0], r[1], r[2]) for r in table] == [
        ("Initech", "1,500.00 USD", "13"),
        ("Globex", "1,500.00 USD", "3"),
        ("Umbrella", "90.00 USD", "43"),
    ]
    globex = table[1]
    assert globex[3] == "Apr 3, 2026 T+3"
    assert globex[4] == "Apr 7, 2026 T+7"


def test_send_now_emails_the_billing_contacts_and_shows_in_the_invoice_activity(
    client, alice, day, overdue, inbox
):
    day(1, run=False)
    client.force_login(alice)

    response = client.post(
        reverse("collections:send_now", args=[overdue.customer_id]), {"from": "worklist"}
    )

    assert response.status_code == 302 and response["Location"] == WORKLIST
    (message,) = inbox.to(HANK)
    assert "INV-1001" in message.get_content()
    email = ReminderEmail.objects.get()
    assert email.kind == ReminderEmail.Kind.MANUAL and email.created_by == alice
    assert AuditEntry.objects.filter(action="collections.sent_now").exists()

    day(3)  # the schedule goes on: T+3
    page = client.get(reverse("dashboard:invoice", args=[overdue.pk])).content.decode()
    activity = page.split('data-testid="reminder-activity"')[1]
    assert "By hand" in activity and "(alice)" in activity and "T+3" in activity
    assert activity.count(HANK) == 2
    assert "Next reminder: <strong>T+7</strong> on Apr 7, 2026" in activity


def test_pause_stops_reminders_and_resume_goes_on_with_the_next_step(
    client, alice, day, overdue, inbox
):
    day(0)
    client.force_login(alice)
    client.post(
        reverse("collections:pause", args=[overdue.customer_id]), {"reason": "Disputing the fee"}
    )
    policy = CustomerPolicy.objects.get(customer=overdue.customer)
    assert policy.paused and policy.paused_by == alice

    for n in range(1, 9):
        day(n)
    assert len(inbox.to(HANK)) == 1
    assert "Paused" in rows(client.get(WORKLIST).content.decode())[0][4]

    client.post(reverse("collections:resume", args=[overdue.customer_id]))
    day(9)
    assert inbox.to(HANK)[-1]["Subject"].startswith("Second reminder")


def test_notes_and_promises_are_recorded_and_a_missed_promise_shows_broken(
    client, alice, day, overdue, inbox
):
    day(2)
    client.force_login(alice)
    url = reverse("collections:add_note", args=[overdue.customer_id])
    client.post(url, {"text": "Spoke to Hank; cheque in the post"})
    client.post(url, {"promised_amount": "1500.00", "promised_date": "2026-04-05"})
    assert client.post(url, {"text": ""}).status_code == 302
    assert Note.objects.count() == 2

    cells = rows(client.get(WORKLIST).content.decode())[0][5]
    assert "Promised 1,500.00 USD by Apr 5, 2026" in cells and "cheque in the post" in cells
    assert "Broken" not in cells

    day(6, run=False)
    assert "Broken" in rows(client.get(WORKLIST).content.decode())[0][5]
    page = client.get(reverse("collections:customer", args=[overdue.customer_id]))
    notes = page.content.decode().split('data-testid="notes"')[1]
    assert "Promised 1,500.00 by Apr 5, 2026" in notes and "alice" in notes


def test_the_customer_page_shows_failures_and_bounces(client, alice, day, overdue, inbox):
    async def refuse(server, session, envelope, address, rcpt_options):
        return "550 No such user here"

    inbox.handle_RCPT = refuse
    day(0)
    client.force_login(alice)

    page = client.get(reverse("collections:customer", args=[overdue.customer_id]))
    emails = page.content.decode().split('data-testid="emails"')[1]
    assert "Bounced" in emails and "INV-1001" in emails
    assert "hank@globex.example: (550" in emails and "No such user here" in emails


def test_a_viewer_sees_the_worklist_but_cannot_act(client, partner, day, overdue, inbox):
    viewer = User.objects.create_user("vera")
    Membership.objects.create(user=viewer, partner=partner, role=Membership.Role.VIEWER)
    day(1)
    client.force_login(viewer)

    page = client.get(WORKLIST).content.decode()
    assert "Globex" in page and "Send now" not in page
    for name in ("send_now", "pause", "add_note", "choose_sequence"):
        url = reverse(f"collections:{name}", args=[overdue.customer_id])
        assert client.post(url, {"text": "x"}).status_code == 403, name
    assert len(inbox.messages) == 1 and not CustomerPolicy.objects.filter(paused=True).exists()


def test_send_now_with_nothing_to_remind_of_sends_nothing(client, alice, globex, inbox):
    client.force_login(alice)

    response = client.post(reverse("collections:send_now", args=[globex.pk]), follow=True)

    assert "has no open invoice to remind of" in response.content.decode()
    assert inbox.messages == [] and not ReminderEmail.objects.exists()
