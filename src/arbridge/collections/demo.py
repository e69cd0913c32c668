"""The demo's collections: overdue invoices with their reminders already sent, the next ones due.

`seed_demo(partner)` replays the reminder run over the last HISTORY_DAYS days
for the invoices the partner has (the demo's arrive through the connectors,
so call it once the first sync has brought them): each day is planned by the
real `reminders.plan` and "sent" through Django's dummy email backend, so the
rows are exactly what the run would have written, dated on their day; this
month's statements likewise. The next steps stay for the worker's run. A
statement day, a note and a promise to pay make the worklist look lived in.
Calling it again adds nothing.
"""

import datetime as dt

from django.db import transaction

from arbridge.collections import reminders, statements
from arbridge.collections.models import (
    CollectionsSettings,
    Note,
    Reminder,
    ReminderEmail,
    Sequence,
    Statement,
)
from arbridge.collections.worklist import overdue_customers
from arbridge.core import clock
from arbridge.core.models import Partner

HISTORY_DAYS = 60
# Replayed emails "went" through this backend: it accepts every message and sends none.
REPLAY_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
SENT_AT = dt.time(9, 15)
STATEMENT_DAY = 1


def seed_demo(partner: Partner) -> int:
    """Record the reminders the partner's open invoices would have had; return how many."""
    Sequence.default_for(partner)
    today = clock.today()
    recorded = 0
    for back in range(HISTORY_DAYS, 0, -1):
        recorded += replay(partner.pk, today - dt.timedelta(days=back))
    settings = CollectionsSettings.for_partner(partner)
    if not settings.statement_day:
        settings.statement_day = STATEMENT_DAY
        settings.save(update_fields=["statement_day"])
    # This month's statements went on their day; next month's are the worker's.
    statement_day = today.replace(day=settings.statement_day)
    if statement_day <= today:
        replay_statements(partner.pk, statement_day)
    note_the_top_customers(partner, today)
    return recorded


def replay(partner_id: int, day: dt.date) -> int:
    """Plan one past day and mark its emails sent on that day; return the reminders planned."""
    with transaction.atomic():
        _, planned = reminders.plan(partner_id, day)
        if not planned:
            return 0
        reminders.send(partner_id, day, backend=REPLAY_BACKEND)
        at = dt.datetime.combine(day, SENT_AT, tzinfo=dt.UTC)
        emails = ReminderEmail.objects.filter(
            partner_id=partner_id, kind=ReminderEmail.Kind.REMINDER, send_date=day
        )
        emails.filter(status=ReminderEmail.Status.SENT).update(created_at=at, sent_at=at)
        emails.exclude(status=ReminderEmail.Status.SENT).update(created_at=at)
        Reminder.objects.filter(email__in=emails).update(created_at=at)
    return planned


def replay_statements(partner_id: int, day: dt.date) -> None:
    with transaction.atomic():
        if not statements.plan(partner_id, day):
            return
        statements.send(partner_id, day, backend=REPLAY_BACKEND)
        at = dt.datetime.combine(day, SENT_AT, tzinfo=dt.UTC)
        emails = ReminderEmail.objects.filter(
            partner_id=partner_id, kind=ReminderEmail.Kind.STATEMENT, send_date=day
        )
        emails.filter(status=ReminderEmail.Status.SENT).update(created_at=at, sent_at=at)
        Statement.objects.filter(email__in=emails).update(created_at=at)


def note_the_top_customers(partner: Partner, today: dt.date) -> None:
    """A note on the customer who owes most, a promise from the next; once."""
    if Note.objects.for_partner(partner).exists():
        return
    top = list(overdue_customers(partner.pk, today)[:2])
    if top:
        Note.objects.create(
            partner=partner,
            customer_id=top[0]["customer_id"],
            text="Called their accounts payable: the invoice is with their approver.",
            created_at=clock.now() - dt.timedelta(days=2),
        )
    if len(top) > 1:
        Note.objects.create(
            partner=partner,
            customer_id=top[1]["customer_id"],
            text="Promised by phone.",
            promised_amount=top[1]["overdue"],
            promised_date=today + dt.timedelta(days=5),
            created_at=clock.now() - dt.timedelta(days=1),
        )
