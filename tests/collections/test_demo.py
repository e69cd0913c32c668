"""The demo's collections: reminders already sent on their days, the next ones due, once."""

import datetime as dt

from django.urls import reverse

from arbridge.collections.demo import seed_demo
from arbridge.collections.models import (
    CollectionsSettings,
    Note,
    Reminder,
    ReminderEmail,
    Statement,
)
from arbridge.ledger.models import Contact, Customer
from tests.collections.conftest import DUE, make_invoice

pytest_plugins = ["tests.payments.fixtures", "tests.portal.fixtures"]


def test_overdue_invoices_have_their_reminders_sent_and_the_next_ones_due(
    client, alice, partner, globex, day, inbox
):
    initech = Customer.objects.create(partner=partner, name="Initech")
    Contact.objects.create(
        partner=partner, customer=initech, email="bill@initech.example", is_billing=True
    )
    make_invoice(globex, "INV-1001", "1500.00")
    make_invoice(initech, "INV-2001", "300.00", due=DUE + dt.timedelta(days=6))
    today = day(10, run=False)

    assert seed_demo(partner) == 7
    assert inbox.messages == []  # history, not email

    sent = ReminderEmail.objects.filter(status=ReminderEmail.Status.SENT, kind="reminder").order_by(
        "sent_at", "customer__name"
    )
    assert [(e.customer.name, (e.sent_at.date() - DUE).days) for e in sent] == [
        ("Globex Corporation", -3),
        ("Globex Corporation", 0),
        ("Globex Corporation", 3),
        ("Initech", 3),
        ("Initech", 6),
        ("Globex Corporation", 7),
        ("Initech", 9),
    ]
    assert all(e.sent_at.date() < today and e.created_at == e.sent_at for e in sent)
    assert sorted(
        Reminder.objects.filter(invoice__number="INV-2001").values_list("offset_days", flat=True)
    ) == [-3, 0, 3]
    assert "INV-1001" in sent.first().body and "Pay online: " in sent.first().body
    assert CollectionsSettings.for_partner(partner).statement_day == 1
    april = Statement.objects.filter(month=dt.date(2026, 4, 1))
    assert april.count() == 2 and {s.email.status for s in april} == {"sent"}
    assert Note.objects.filter(promised_date__isnull=False).count() == 1

    client.force_login(alice)
    page = client.get(reverse("collections:worklist")).content.decode()
    assert 'Apr 7, 2026 <span class="muted">T+7</span>' in page  # Globex's last
    assert 'Apr 14, 2026 <span class="muted">T+14</span>' in page  # and next
    assert 'Apr 13, 2026 <span class="muted">T+7</span>' in page  # Initech's next

    assert seed_demo(partner) == 0  # again: nothing more
    assert ReminderEmail.objects.count() == 9 and Note.objects.count() == 2

    day(14)  # the worker's run sends the next step for real
    assert [m["Subject"] for m in inbox.to("hank@globex.example")] == [
        "Invoice INV-1001 from Acme IT: 14 days overdue"
    ]
