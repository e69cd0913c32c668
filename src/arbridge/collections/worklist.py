"""What a person collecting needs to see: who owes most for longest, what went, what comes next.

`overdue_customers` is the worklist's query (customers by amount overdue, then
by days late), paged in SQL; `annotate_rows` adds, for one page, the last
reminder sent, the next one due, the latest note and promise, and whether the
customer is paused. `next_reminders` computes the next step of each open
invoice the way the reminder run will pick it (reminders.plan).
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Max, Min, QuerySet, Sum

from arbridge.collections.models import (
    CustomerPolicy,
    Note,
    Reminder,
    ReminderEmail,
    Step,
    label_offset,
)
from arbridge.collections.reminders import UNPAID, chasable, due_step, sequences
from arbridge.ledger.models import Customer, Invoice

SENT = ReminderEmail.Status.SENT


@dataclass
class Next:
    """The next reminder an invoice will get: its step and the day the run sends it."""

    invoice_id: int
    offset_days: int
    on: dt.date

    @property
    def label(self) -> str:
        return label_offset(self.offset_days)


@dataclass
class Row:
    customer: Customer
    currency: str
    overdue: Decimal
    invoices: int
    oldest_due: dt.date
    days_late: int = 0
    last_sent: ReminderEmail | None = None
    next: Next | None = None
    note: Note | None = None
    promise: Note | None = None
    paused: bool = False
    pause_reason: str = ""
    steps: str = ""


def overdue_customers(partner_id: int, today: dt.date) -> QuerySet:
    """Return customer ids with their overdue amount, by amount then days late."""
    return (
        Invoice.objects.filter(
            partner_id=partner_id,
            status__in=UNPAID,
            archived=False,
            balance__gt=0,
            due_date__lt=today,
            customer__archived=False,
        )
        .values("customer_id", "currency")
        .annotate(overdue=Sum("balance"), invoices=Count("id"), oldest_due=Min("due_date"))
        .order_by("-overdue", "oldest_due", "customer_id")
    )


def next_reminders(partner_id: int, today: dt.date, customer_ids: list[int]) -> dict[int, Next]:
    """Return each chasable invoice's next reminder, for the given customers."""
    default_id, steps, overrides = sequences(partner_id)
    invoices = list(
        chasable(partner_id)
        .filter(customer_id__in=customer_ids)
        .values_list("id", "customer_id", "due_date")
    )
    ids = [i for i, _, _ in invoices]
    latest = dict(
        Reminder.objects.filter(invoice_id__in=ids, offset_days__isnull=False)
        .values_list("invoice_id")
        .annotate(m=Max("offset_days"))
        .order_by()
    )
    emailed_today = set(
        ReminderEmail.objects.filter(
            customer_id__in=customer_ids,
            kind=ReminderEmail.Kind.REMINDER,
            send_date=today,
            status=SENT,
        ).values_list("customer_id", flat=True)
    )
    found: dict[int, Next] = {}
    for invoice_id, customer_id, due_date in invoices:
        seq_steps: list[Step] = steps.get(overrides.get(customer_id, default_id), [])
        offsets = [s.offset_days for s in seq_steps]
        sent = latest.get(invoice_id)
        now = due_step(seq_steps, offsets, (today - due_date).days)
        if now is not None and (sent is None or now.offset_days > sent):
            offset, on = now.offset_days, today  # the next run sends it (catch-up: this one)
        else:
            after = max(
                x for x in (sent, now.offset_days if now else None, -(10**6)) if x is not None
            )
            later = [o for o in offsets if o > after]
            if not later:
                continue
            offset, on = later[0], due_date + dt.timedelta(days=later[0])
        if on <= today and customer_id in emailed_today:
            on = today + dt.timedelta(days=1)  # one email a customer a day
        found[invoice_id] = Next(invoice_id, offset, on)
    return found


def customer_next(partner_id: int, today: dt.date, customer_ids: list[int]) -> dict[int, Next]:
    """Return each customer's soonest next reminder."""
    by_invoice = next_reminders(partner_id, today, customer_ids)
    owners = dict(Invoice.objects.filter(pk__in=list(by_invoice)).values_list("id", "customer_id"))
    soonest: dict[int, Next] = {}
    for invoice_id, upcoming in by_invoice.items():
        customer_id = owners[invoice_id]
        if customer_id not in soonest or upcoming.on < soonest[customer_id].on:
            soonest[customer_id] = upcoming
    return soonest


def last_sent(customer_ids: list[int]) -> dict[int, ReminderEmail]:
    """Return each customer's latest reminder email that went."""
    found: dict[int, ReminderEmail] = {}
    for email in (
        ReminderEmail.objects.filter(
            customer_id__in=customer_ids,
            status=SENT,
            kind__in=(ReminderEmail.Kind.REMINDER, ReminderEmail.Kind.MANUAL),
        )
        .order_by("-sent_at", "-id")
        .prefetch_related("reminders")
    ):
        found.setdefault(email.customer_id, email)
    return found


def annotate_rows(partner_id: int, today: dt.date, page: list[dict]) -> list[Row]:
    """Turn one page of `overdue_customers` into rows with everything the worklist shows."""
    ids = [r["customer_id"] for r in page]
    customers = Customer.objects.in_bulk(ids)
    policies = {p.customer_id: p for p in CustomerPolicy.objects.filter(customer_id__in=ids)}
    sent = last_sent(ids)
    coming = customer_next(partner_id, today, ids)
    notes: dict[int, Note] = {}
    promises: dict[int, Note] = {}
    for note in Note.objects.filter(customer_id__in=ids).select_related("author"):
        if note.is_promise:
            promises.setdefault(note.customer_id, note)
        else:
            notes.setdefault(note.customer_id, note)
    rows = []
    for r in page:
        policy = policies.get(r["customer_id"])
        rows.append(
            Row(
                customer=customers[r["customer_id"]],
                currency=r["currency"],
                overdue=r["overdue"],
                invoices=r["invoices"],
                oldest_due=r["oldest_due"],
                days_late=(today - r["oldest_due"]).days,
                last_sent=sent.get(r["customer_id"]),
                next=coming.get(r["customer_id"]),
                note=notes.get(r["customer_id"]),
                promise=promises.get(r["customer_id"]),
                paused=bool(policy and policy.paused),
                pause_reason=policy.pause_reason if policy else "",
            )
        )
    return rows


def email_steps(email: ReminderEmail) -> str:
    """Return the steps an email carried, e.g. "T+7" or "by hand"."""
    offsets = sorted({r.offset_days for r in email.reminders.all() if r.offset_days is not None})
    if not offsets:
        return "by hand" if email.kind == ReminderEmail.Kind.MANUAL else email.get_kind_display()
    return ", ".join(label_offset(o) for o in offsets)
