"""Failures stay visible and are retried; bounces are marked; unsubscribing stops reminders."""

import pytest
from django.test import Client

from arbridge.collections.models import ReminderEmail, Unsubscribe
from arbridge.ledger.models import Contact
from tests.portal.fixtures import free_port

pytest_plugins = ["tests.payments.fixtures", "tests.portal.fixtures"]


@pytest.fixture
def refusing(inbox):
    """The SMTP server refuses mail to anyone at globex.example."""

    async def handle_RCPT(server, session, envelope, address, rcpt_options):
        if address.endswith("@globex.example"):
            return "550 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    inbox.handle_RCPT = handle_RCPT
    return inbox


def test_a_refused_address_is_a_visible_bounce(day, overdue, refusing):
    day(0)

    email = ReminderEmail.objects.get()
    assert email.status == ReminderEmail.Status.BOUNCED
    assert "hank@globex.example" in email.error and "550" in email.error
    assert refusing.messages == []


def test_an_unreachable_server_fails_visibly_and_the_next_run_sends(day, overdue, inbox, settings):
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nothing listens there
    day(0)

    email = ReminderEmail.objects.get()
    assert email.status == ReminderEmail.Status.FAILED
    assert "Could not reach the SMTP server" in email.error and email.attempts == 1
    assert inbox.messages == []

    settings.EMAIL_PORT = port
    day(0)  # the next hour
    email.refresh_from_db()
    assert email.status == ReminderEmail.Status.SENT and email.attempts == 2
    assert len(inbox.messages) == 1


def test_unsubscribing_stops_reminders_to_that_contact_only(day, overdue, globex, inbox):
    Contact.objects.create(
        partner_id=globex.partner_id,
        customer=globex,
        name="Patty",
        email="patty@globex.example",
        is_billing=True,
    )
    day(0)
    hanks = inbox.to("hank@globex.example")[0].get_content()
    link = hanks.split("To stop these reminders: ")[1].split()[0]
    path = "/" + link.split("/", 3)[3]

    browser = Client()
    page = browser.get(path)
    assert page.status_code == 200 and "Stop payment reminders?" in page.content.decode()
    assert not Unsubscribe.objects.exists()  # a mail scanner's GET changes nothing
    page = browser.post(path)
    assert "You will get no more payment reminders" in page.content.decode()

    inbox.messages.clear()
    day(3)
    assert [m["X-Envelope-To"] for m in inbox.messages] == ["patty@globex.example"]


def test_a_customer_whose_only_contact_unsubscribed_is_marked_so(day, overdue, inbox):
    hank = Contact.objects.get(email="hank@globex.example")
    Unsubscribe.objects.create(partner_id=hank.partner_id, contact=hank)
    day(0)

    assert inbox.messages == []
    assert ReminderEmail.objects.get().status == ReminderEmail.Status.NO_RECIPIENT


def test_a_forged_unsubscribe_link_does_nothing(db):
    assert Client().post("/reminders/unsubscribe/1:forged/").status_code == 404
