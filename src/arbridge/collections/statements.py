"""Monthly statements: each customer with open invoices gets their balance and its aging, once.

On the partner's statement day (CollectionsSettings.statement_day, 1-28), or
at the first run after it when the worker was down, `plan` writes one
`Statement` row per customer and month, unique, with the `ReminderEmail` that
carries it; `send` sends the month's queued statements to the billing contacts
(less those who unsubscribed) and keeps failures on the email for the next run,
as reminders do. A paused customer gets none: a pause stops every collections
email, receipts aside.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.template import Context
from django.template.loader import get_template

from arbridge.collections.models import (
    CollectionsSettings,
    CustomerPolicy,
    ReminderEmail,
    Statement,
)
from arbridge.collections.reminders import (
    CHUNK,
    MAX_ATTEMPTS,
    UNPAID,
    Mailer,
    RunResult,
    customer_fields,
    invoice_fields,
    new_pay_links,
    open_smtp,
    partner_fields,
    recipients,
    save_outcomes,
)
from arbridge.core import clock
from arbridge.core.models import Partner
from arbridge.core.money import ZERO, format_money
from arbridge.ledger.models import Customer, Invoice

# Days late up to each bound (inclusive); the last takes the rest.
AGING = (("Current", 0), ("1-30 days", 30), ("31-60 days", 60), ("61-90 days", 90))
OVER_90 = "Over 90 days"


@dataclass(frozen=True)
class Bucket:
    label: str
    amount: Decimal


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def bucket_label(days_late: int) -> str:
    for label, bound in AGING:
        if days_late <= bound:
            return label
    return OVER_90


def aging(invoices: list[Invoice], today: dt.date) -> dict[str, Decimal]:
    """Return the balance by age bucket, every bucket listed, in order."""
    buckets = {label: ZERO for label, _ in AGING} | {OVER_90: ZERO}
    for invoice in invoices:
        late = (today - invoice.due_date).days if invoice.due_date else 0
        buckets[bucket_label(late)] += invoice.balance
    return buckets


def open_invoices(partner_id: int) -> "models.QuerySet[Invoice]":  # noqa: F821
    return Invoice.objects.filter(
        partner_id=partner_id,
        status__in=UNPAID,
        archived=False,
        balance__gt=0,
        customer__archived=False,
    )


def is_statement_due(settings: CollectionsSettings, today: dt.date) -> bool:
    return bool(settings.statement_day) and today.day >= settings.statement_day


def plan(partner_id: int, today: dt.date) -> int:
    """Write this month's statement rows for customers with open invoices; return how many."""
    if not is_statement_due(CollectionsSettings.for_partner(partner_id), today):
        return 0
    month = month_of(today)
    paused = CustomerPolicy.objects.filter(partner_id=partner_id, paused=True).values("customer_id")
    done = Statement.objects.filter(partner_id=partner_id, month=month).values("customer_id")
    owed: dict[int, tuple[str, Decimal]] = {}
    for customer_id, currency, balance in (
        open_invoices(partner_id)
        .exclude(customer_id__in=paused)
        .exclude(customer_id__in=done)
        .values_list("customer_id", "currency")
        .annotate(balance=Sum("balance"))
        .order_by("customer_id", "-balance")
    ):
        owed.setdefault(customer_id, (currency, balance))  # the largest currency's balance
    if not owed:
        return 0
    with transaction.atomic():
        ReminderEmail.objects.bulk_create(
            [
                ReminderEmail(
                    partner_id=partner_id,
                    customer_id=c,
                    kind=ReminderEmail.Kind.STATEMENT,
                    send_date=today,
                )
                for c in owed
            ],
            ignore_conflicts=True,
        )
        emails = dict(
            ReminderEmail.objects.filter(
                partner_id=partner_id,
                kind=ReminderEmail.Kind.STATEMENT,
                send_date=today,
                customer_id__in=list(owed),
                statement__isnull=True,
            ).values_list("customer_id", "id")
        )
        Statement.objects.bulk_create(
            [
                Statement(
                    partner_id=partner_id,
                    customer_id=c,
                    month=month,
                    email_id=email_id,
                    currency=owed[c][0],
                    balance=owed[c][1],
                )
                for c, email_id in emails.items()
            ],
            ignore_conflicts=True,
        )
    return len(emails)


def render(
    partner: Partner,
    customer: Customer,
    invoices: list[Invoice],
    month: dt.date,
    pay_url: str,
    unsubscribe_url: str,
    today: dt.date,
) -> tuple[str, str]:
    """Return the subject and body of a customer's statement."""
    partner_name = partner.display_name or partner.name
    currency = invoices[0].currency
    balance = sum((i.balance for i in invoices), ZERO)
    lines = [
        {
            "invoice": invoice_fields(invoice),
            "balance": format_money(invoice.balance, invoice.currency),
            "days_late": (today - invoice.due_date).days if invoice.due_date else 0,
        }
        for invoice in invoices
    ]
    ctx = {
        "partner": partner_fields(partner),
        "partner_name": partner_name,
        "customer": customer_fields(customer),
        "month": month,
        "today": today,
        "invoices": lines,
        "aging": [
            Bucket(label, format_money(amount, currency))
            for label, amount in aging(invoices, today).items()
        ],
        "balance": format_money(balance, currency),
        "pay_url": pay_url,
        "unsubscribe_url": unsubscribe_url,
    }
    body = get_template("collections/email/statement.txt").template.render(
        Context(ctx, autoescape=False)
    )
    subject = f"Statement from {partner_name} for {month:%B %Y}: {ctx['balance']} open"
    return subject, body


def send(partner_id: int, today: dt.date, backend: str | None = None) -> RunResult:
    """Send this month's queued (and retryable failed) statements."""
    result = RunResult()
    month = month_of(today)
    emails = list(
        ReminderEmail.objects.filter(
            partner_id=partner_id, kind=ReminderEmail.Kind.STATEMENT, statement__month=month
        )
        .filter(
            Q(status=ReminderEmail.Status.QUEUED)
            | Q(status=ReminderEmail.Status.FAILED, attempts__lt=MAX_ATTEMPTS)
        )
        .select_related("customer")
        .order_by("id")
    )
    if not emails:
        return result
    connection = open_smtp([e.pk for e in emails], result, backend)
    if connection is None:
        return result
    partner = Partner.objects.get(pk=partner_id)
    try:
        mailer = Mailer(partner, connection)
        for start in range(0, len(emails), CHUNK):
            send_chunk(mailer, emails[start : start + CHUNK], month, today, result)
    finally:
        connection.close()
    return result


def send_chunk(
    mailer: Mailer, emails: list[ReminderEmail], month: dt.date, today: dt.date, result: RunResult
) -> None:
    """Send some statements and save what became of each, so a crash resends none of them."""
    partner = mailer.partner
    owed: dict[int, list[Invoice]] = {}
    for invoice in (
        open_invoices(partner.pk)
        .filter(customer_id__in=[e.customer_id for e in emails])
        .order_by("due_date", "id")
    ):
        owed.setdefault(invoice.customer_id, []).append(invoice)
    to = recipients([e.customer_id for e in emails])
    new_pay_links(partner, [e for e in emails if owed.get(e.customer_id)])
    for email in emails:
        invoices, contacts = owed.get(email.customer_id), to.get(email.customer_id)
        if not invoices:
            email.status, email.error = ReminderEmail.Status.CANCELLED, "Nothing is open."
            continue
        if not contacts:
            email.status = ReminderEmail.Status.NO_RECIPIENT
            email.error = "The customer has no billing contact."
            continue

        def compose(contact, email=email, invoices=invoices):
            return render(
                partner,
                email.customer,
                invoices,
                month,
                mailer.urls.pay(email.pay_link),
                mailer.urls.stop(contact.pk),
                today,
            )

        mailer.deliver(email, contacts, compose, result)
    save_outcomes(emails)


def run(partner_id: int, today: dt.date | None = None) -> RunResult:
    """Plan and send the partner's statements if their day has come this month."""
    today = today or clock.today()
    planned = plan(partner_id, today)
    result = send(partner_id, today)
    result.planned = planned
    return result
