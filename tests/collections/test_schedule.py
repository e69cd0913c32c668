"""Sixty days of reminders, read from a real SMTP server: each step once, catch-up, stops."""

import datetime as dt
from decimal import Decimal

from django.test import Client

from arbridge.collections.models import CustomerPolicy, Reminder, ReminderEmail, Sequence, Step
from arbridge.integrations.sync import apply_change
from arbridge.ledger.models import Dispute, Invoice, Payment
from tests.collections.conftest import DUE, make_invoice, pay_link
from tests.integrations.test_sync_run import contact, customer, invoice, payment, to_change
from tests.integrations.test_sync_run import qbo as qbo  # noqa: F401 (fixtures)
from tests.integrations.test_sync_run import scripted as scripted  # noqa: F401
from tests.portal.conftest import CommittingClient
from tests.portal.test_pay import VISA, choose, enter, pay

pytest_plugins = ["tests.payments.fixtures", "tests.portal.fixtures"]

HANK = "hank@globex.example"


def apply(connection, entity: str, payload) -> str:
    return apply_change(connection, to_change(entity, payload))


def subjects(inbox) -> list[str]:
    return [m["Subject"] for m in inbox.messages]


def test_each_step_is_sent_once_over_sixty_days(day, overdue, inbox):
    for n in range(-10, 51):
        day(n)
        day(n)  # the next hour's run sends nothing more

    assert subjects(inbox) == [
        "Invoice INV-1001 from Acme IT: due in 3 days",
        "Invoice INV-1001 from Acme IT: due today",
        "Reminder: Invoice INV-1001 from Acme IT, 3 days overdue",
        "Second reminder: Invoice INV-1001 from Acme IT, a week overdue",
        "Invoice INV-1001 from Acme IT: 14 days overdue",
        "Final notice: Invoice INV-1001 from Acme IT, 30 days overdue",
    ]
    assert sorted(Reminder.objects.values_list("offset_days", flat=True)) == [-3, 0, 3, 7, 14, 30]
    assert all(m["X-Envelope-To"] == HANK for m in inbox.messages)
    assert set(ReminderEmail.objects.values_list("status", flat=True)) == {"sent"}


def test_only_billing_contacts_get_them_with_a_working_pay_link(day, overdue, inbox):
    day(3)

    (message,) = inbox.messages
    assert message["X-Envelope-To"] == HANK
    assert not inbox.to("homer@globex.example") and not inbox.to("ap@globex.example")
    assert message["From"] == "Acme IT <arbridge@localhost>"
    assert message["Reply-To"] == "billing@acme.example"
    body = message.get_content()
    assert "INV-1001" in body and "1,500.00 USD" in body and "3 days late" in body
    assert f"/portal/acme-it/invoices/{overdue.pk}/pdf/" in body

    browser = Client()
    response = browser.get(pay_link(message))
    assert response.status_code == 302
    page = browser.get(response["Location"]).content.decode()
    assert "INV-1001" in page and "Globex" in page
    assert browser.get(f"/portal/acme-it/invoices/{overdue.pk}/pdf/").status_code == 200


def test_a_week_of_downtime_sends_one_catch_up_not_seven(day, overdue, inbox):
    day(0)
    for n in range(1, 9):
        day(n, run=False)  # the worker is down from day 1 to day 8
    day(9)
    day(10)

    assert subjects(inbox) == [
        "Invoice INV-1001 from Acme IT: due today",
        "Second reminder: Invoice INV-1001 from Acme IT, a week overdue",
    ]


def test_one_email_a_day_groups_every_invoice_due_a_step(day, globex, inbox):
    make_invoice(globex, "INV-1001", "1500.00")
    make_invoice(globex, "INV-1002", "200.50", due=DUE - dt.timedelta(days=4))
    make_invoice(globex, "INV-1003", "99.00", due=DUE + dt.timedelta(days=30))

    day(3)  # INV-1001 at +3, INV-1002 at +7, INV-1003 not due a step

    (message,) = inbox.messages
    body = message.get_content()
    assert message["Subject"] == "Second reminder: 2 invoices from Acme IT, a week overdue"
    assert "INV-1001" in body and "INV-1002" in body and "INV-1003" not in body
    assert "Balance due: 1,700.50 USD" in body


def test_paying_in_the_portal_stops_the_sequence(day, overdue, partner, inbox, processor):
    day(0)
    browser = CommittingClient()
    assert browser.get(pay_link(inbox.messages[0])).status_code == 302
    checkout = choose(browser, partner, {overdue: "1500.00"})
    enter(browser, partner, checkout, "card", VISA)
    assert pay(browser, partner, checkout).status_code == 302
    overdue.refresh_from_db()
    assert overdue.status == Invoice.Status.PAID
    inbox.messages.clear()  # the receipt

    for n in range(1, 40):
        day(n)

    assert inbox.messages == []


def test_paying_in_quickbooks_stops_the_sequence(day, partner, qbo, inbox):
    apply(qbo, "customer", customer("1", "Globex Corporation"))
    apply(qbo, "contact", contact("c1", "1", HANK))
    apply(qbo, "invoice", invoice("10", "1001", 150, DueDate=DUE.isoformat()))
    day(3)
    assert subjects(inbox) == ["Reminder: Invoice 1001 from Acme IT, 3 days overdue"]

    apply(qbo, "payment", payment("20", 150, {"10": 150}))
    for n in range(4, 40):
        day(n)

    assert len(inbox.messages) == 1
    assert Invoice.objects.get().status == Invoice.Status.PAID


def test_a_pending_payment_holds_reminders_and_a_failed_one_resumes_them(day, overdue, inbox):
    payment = Payment.objects.create(
        partner_id=overdue.partner_id,
        customer=overdue.customer,
        amount=Decimal("1500.00"),
        method=Payment.Method.ACH,
    )
    payment.allocate(overdue, Decimal("1500.00"))
    day(0)
    assert inbox.messages == []

    payment.set_status(Payment.Status.RETURNED)
    day(1)
    assert subjects(inbox) == ["Invoice INV-1001 from Acme IT: due today"]


def test_a_dispute_holds_the_invoice(day, overdue, inbox):
    dispute = Dispute.objects.create(partner_id=overdue.partner_id, invoice=overdue)
    for n in range(-3, 5):
        day(n)
    assert inbox.messages == []

    dispute.resolved_at = dispute.opened_at
    dispute.save()
    day(5)
    assert subjects(inbox) == ["Reminder: Invoice INV-1001 from Acme IT, 3 days overdue"]


def test_a_paused_customer_gets_nothing_until_resumed(day, overdue, globex, inbox):
    policy = CustomerPolicy.for_customer(globex)
    policy.pause(reason="Talking to their CFO")
    for n in range(-3, 10):
        day(n)
    assert inbox.messages == []

    policy.resume()
    day(10)
    assert subjects(inbox) == ["Second reminder: Invoice INV-1001 from Acme IT, a week overdue"]


def test_a_changed_schedule_reaches_open_invoices_from_the_next_step(day, overdue, partner, inbox):
    day(3)
    sequence = Sequence.default_for(partner)
    # The partner drops +7 and +14 and adds +5 and +10.
    sequence.steps.filter(offset_days__in=[7, 14]).delete()
    for offset in (5, 10):
        Step.objects.create(
            partner=partner,
            sequence=sequence,
            offset_days=offset,
            subject_template=f"Day {offset}: {{{{ what }}}}",
            body_template="Pay: {{ pay_url }}",
        )
    for n in range(4, 32):
        day(n)

    assert subjects(inbox)[1:] == [
        "Day 5: Invoice INV-1001",
        "Day 10: Invoice INV-1001",
        "Final notice: Invoice INV-1001 from Acme IT, 30 days overdue",
    ]


def test_a_customer_override_sequence_is_followed(day, overdue, globex, partner, inbox):
    gentle = Sequence.objects.create(partner=partner, name="Gentle")
    Step.objects.create(
        partner=partner,
        sequence=gentle,
        offset_days=10,
        subject_template="A gentle word about {{ what }}",
        body_template="{{ pay_url }}",
    )
    policy = CustomerPolicy.for_customer(globex)
    policy.sequence = gentle
    policy.save()
    for n in range(-5, 20):
        day(n)

    assert subjects(inbox) == ["A gentle word about Invoice INV-1001"]


def test_a_paid_in_full_invoice_before_the_first_step_gets_nothing(day, overdue, inbox):
    payment = Payment.objects.create(
        partner_id=overdue.partner_id,
        customer=overdue.customer,
        amount=Decimal("1500.00"),
        status=Payment.Status.SUCCEEDED,
    )
    payment.allocate(overdue, Decimal("1500.00"))
    overdue.refresh_from_db()
    assert overdue.status == Invoice.Status.PAID
    for n in range(-5, 35):
        day(n)
    assert inbox.messages == []
