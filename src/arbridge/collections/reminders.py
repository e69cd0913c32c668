"""The reminder run: choose each open invoice's due step, group them, send one email a customer.

A run is two phases, each safe to repeat:

1. `plan(partner, today)` picks, for every open invoice, the latest step of its
   sequence whose date has come (a run after a week of downtime picks only the
   latest, never the seven it missed), and only if that step is later than any
   step already sent for the invoice (so a changed schedule reaches open
   invoices from their next step on). It writes one `ReminderEmail` per
   customer and day and one `Reminder` per invoice and step; both are unique
   rows, so a second plan the same day adds nothing.
2. `send(partner, today)` renders and sends the day's queued emails over one
   SMTP connection, rechecking each invoice first: one paid, disputed or
   paused since the plan drops out, and an email left with nothing to say is
   cancelled. Failures are kept on the row (status, error, attempts) and
   retried by the next run the same day, up to MAX_ATTEMPTS.
"""

import bisect
import datetime as dt
import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, connections, transaction
from django.db.models import F, Max, Q
from django.template import Context, Template
from django.urls import reverse

from arbridge.collections import suppress
from arbridge.collections.models import (
    DEFAULT_BODY,
    DEFAULT_SUBJECTS,
    CustomerPolicy,
    Reminder,
    ReminderEmail,
    Sequence,
    Step,
    Unsubscribe,
    label_offset,
    unsubscribe_token,
)
from arbridge.core import clock
from arbridge.core.models import Partner
from arbridge.core.money import ZERO, format_money
from arbridge.ledger.models import Contact, Customer, Invoice
from arbridge.portal.models import PortalLink

logger = logging.getLogger(__name__)

UNPAID = (Invoice.Status.OPEN, Invoice.Status.PARTIALLY_PAID)
MAX_ATTEMPTS = 3
# The portal link in a reminder lasts as long as a final notice's wait.
PAY_LINK_DAYS = 30
CHUNK = 500


@dataclass
class RunResult:
    evaluated: int = 0
    planned: int = 0
    sent: int = 0
    failed: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def chasable(partner_id: int) -> "models.QuerySet[Invoice]":  # noqa: F821
    """Return the partner's invoices reminders may chase today, suppressors applied."""
    paused = CustomerPolicy.objects.filter(partner_id=partner_id, paused=True).values("customer_id")
    return (
        Invoice.objects.filter(
            partner_id=partner_id,
            status__in=UNPAID,
            archived=False,
            balance__gt=0,
            due_date__isnull=False,
            customer__archived=False,
        )
        .exclude(customer_id__in=paused)
        .exclude(suppress.held_back(partner_id))
    )


def sequences(partner_id: int) -> tuple[int, dict[int, list[Step]], dict[int, int]]:
    """Return the default sequence id, each sequence's steps by offset, and the overrides."""
    default = Sequence.default_for(partner_id)
    steps: dict[int, list[Step]] = {}
    for step in Step.objects.filter(partner_id=partner_id).order_by("sequence_id", "offset_days"):
        steps.setdefault(step.sequence_id, []).append(step)
    overrides = dict(
        CustomerPolicy.objects.filter(partner_id=partner_id, sequence__isnull=False).values_list(
            "customer_id", "sequence_id"
        )
    )
    return default.pk, steps, overrides


def due_step(steps: list[Step], offsets: list[int], days_from_due: int) -> Step | None:
    """Return the latest step whose day has come, `days_from_due` days after the due date."""
    i = bisect.bisect_right(offsets, days_from_due)
    return steps[i - 1] if i else None


def plan(partner_id: int, today: dt.date) -> tuple[int, int]:
    """Write the partner's reminder rows of today; return (invoices evaluated, planned)."""
    default_id, steps, overrides = sequences(partner_id)
    offsets = {seq: [s.offset_days for s in seq_steps] for seq, seq_steps in steps.items()}
    earliest = min((o[0] for o in offsets.values() if o), default=0)
    with transaction.atomic():
        # A queued email of an earlier day was never sent: its steps are free again.
        stale = ReminderEmail.objects.filter(
            partner_id=partner_id,
            kind=ReminderEmail.Kind.REMINDER,
            status=ReminderEmail.Status.QUEUED,
            send_date__lt=today,
        )
        Reminder.objects.filter(email__in=stale).delete()
        stale.update(status=ReminderEmail.Status.CANCELLED, error="Not sent on its day.")

        emails_today = {
            customer_id: (pk, status)
            for customer_id, pk, status in ReminderEmail.objects.filter(
                partner_id=partner_id, kind=ReminderEmail.Kind.REMINDER, send_date=today
            ).values_list("customer_id", "id", "status")
        }
        latest_sent = dict(
            Reminder.objects.filter(
                partner_id=partner_id, offset_days__isnull=False, invoice__status__in=UNPAID
            )
            .values_list("invoice_id")
            .annotate(m=Max("offset_days"))
            .order_by()
        )
        candidates = chasable(partner_id).filter(due_date__lte=today - dt.timedelta(days=earliest))
        evaluated = 0
        due: dict[int, list[tuple[int, Step]]] = {}
        for invoice_id, customer_id, due_date in candidates.values_list(
            "id", "customer_id", "due_date"
        ).iterator(chunk_size=5000):
            evaluated += 1
            sequence_id = overrides.get(customer_id, default_id)
            step = due_step(
                steps.get(sequence_id, []), offsets.get(sequence_id, []), (today - due_date).days
            )
            if step is None:
                continue
            sent = latest_sent.get(invoice_id)
            if sent is not None and step.offset_days <= sent:
                continue
            existing = emails_today.get(customer_id)
            if existing is not None and existing[1] != ReminderEmail.Status.QUEUED:
                continue  # one email a customer a day: this one waits for tomorrow
            due.setdefault(customer_id, []).append((invoice_id, step))

        new = [c for c in due if c not in emails_today]
        ReminderEmail.objects.bulk_create(
            [ReminderEmail(partner_id=partner_id, customer_id=c, send_date=today) for c in new],
            batch_size=2000,
            ignore_conflicts=True,
        )
        email_ids = dict(
            ReminderEmail.objects.filter(
                partner_id=partner_id, kind=ReminderEmail.Kind.REMINDER, send_date=today
            ).values_list("customer_id", "id")
        )
        reminders = [
            Reminder(
                partner_id=partner_id,
                invoice_id=invoice_id,
                offset_days=step.offset_days,
                step=step,
                email_id=email_ids[customer_id],
            )
            for customer_id, invoices in due.items()
            for invoice_id, step in invoices
        ]
        Reminder.objects.bulk_create(reminders, batch_size=2000, ignore_conflicts=True)
    return evaluated, len(reminders)


# -- sending ------------------------------------------------------------------------


class Templates:
    """Compiled subject and body templates, one pair per step."""

    def __init__(self) -> None:
        self.compiled: dict[object, tuple[Template, Template]] = {}

    def for_step(self, step: Step | None, offset: int | None) -> tuple[Template, Template]:
        key = step.pk if step is not None else ("default", offset)
        if key not in self.compiled:
            if step is not None:
                subject, body = step.subject_template, step.body_template
            else:
                subject = DEFAULT_SUBJECTS.get(offset, "Invoices due to {{ partner_name }}")
                body = DEFAULT_BODY
            self.compiled[key] = (Template(subject), Template(body))
        return self.compiled[key]


def absolute(path: str) -> str:
    return settings.BASE_URL + path


class Urls:
    """The partner's absolute URLs in a reminder, reversed once a run rather than per email."""

    def __init__(self, partner: Partner) -> None:
        self.pdf = absolute(reverse("portal:invoice_pdf", args=[partner.slug, 0]))
        self.link = absolute(reverse("portal:open_link", args=["TOKEN:X"]))
        self.unsubscribe = absolute(reverse("collections:unsubscribe", args=["TOKEN"]))

    def invoice_pdf(self, invoice_id: int) -> str:
        return self.pdf.replace("/0/pdf/", f"/{invoice_id}/pdf/")

    def pay(self, link: PortalLink) -> str:
        return self.link.replace("TOKEN:X", link.token)

    def stop(self, contact_id: int) -> str:
        return self.unsubscribe.replace("TOKEN", unsubscribe_token(contact_id))


# A template a partner edits sees plain values, never a model: a model's relations would
# let `{{ customer.… }}` walk to rows the email has no business showing.
def partner_fields(partner: Partner) -> dict:
    return {
        "name": partner.name,
        "display_name": partner.display_name or partner.name,
        "support_email": partner.support_email,
    }


def customer_fields(customer: Customer) -> dict:
    return {"name": customer.name, "email": customer.email}


def invoice_fields(invoice: Invoice) -> dict:
    return {
        "number": invoice.number,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "terms": invoice.terms,
        "currency": invoice.currency,
        "total": format_money(invoice.total, invoice.currency),
        "balance": format_money(invoice.balance, invoice.currency),
    }


def step_fields(step: Step | None, offset: int | None) -> dict:
    offset = step.offset_days if step is not None else (offset or 0)
    return {
        "offset_days": offset,
        "is_final": bool(step and step.is_final),
        "label": label_offset(offset),
    }


def render(
    templates: Templates,
    urls: Urls,
    partner: Partner,
    customer: Customer,
    invoices: list[Invoice],
    step: Step | None,
    offset: int | None,
    pay_url: str,
    unsubscribe_url: str,
    today: dt.date,
) -> tuple[str, str]:
    """Return the subject and body of one reminder email."""
    subject_t, body_t = templates.for_step(step, offset)
    currency = invoices[0].currency
    lines = [
        {
            "invoice": invoice_fields(invoice),
            "balance": format_money(invoice.balance, invoice.currency),
            "days_late": (today - invoice.due_date).days,
            "pdf_url": urls.invoice_pdf(invoice.pk) if invoice.pk else "",
        }
        for invoice in invoices
    ]
    balance = sum((i.balance for i in invoices), ZERO)
    ctx = Context(
        {
            "partner": partner_fields(partner),
            "partner_name": partner.display_name or partner.name,
            "customer": customer_fields(customer),
            "step": step_fields(step, offset),
            "invoice": lines[0]["invoice"],
            "what": f"Invoice {invoices[0].number}"
            if len(invoices) == 1
            else f"{len(invoices)} invoices",
            "invoices": lines,
            "balance": format_money(balance, currency),
            "pay_url": pay_url,
            "unsubscribe_url": unsubscribe_url,
        },
        autoescape=False,
    )
    subject = " ".join(subject_t.render(ctx).split())[:255]
    return subject, body_t.render(ctx)


def recipients(customer_ids: list[int]) -> dict[int, list[Contact]]:
    """Return each customer's billing contacts with an address, less those unsubscribed."""
    unsubscribed = Unsubscribe.objects.filter(contact__customer_id__in=customer_ids).values(
        "contact_id"
    )
    found: dict[int, list[Contact]] = {}
    for contact in (
        Contact.objects.filter(customer_id__in=customer_ids, is_billing=True)
        .exclude(email="")
        .exclude(pk__in=unsubscribed)
        .order_by("id")
    ):
        found.setdefault(contact.customer_id, []).append(contact)
    return found


SCHEDULE_KINDS = (ReminderEmail.Kind.REMINDER, ReminderEmail.Kind.MANUAL)


def open_smtp(pending: list[int], result: RunResult, backend: str | None = None):
    """Return an open SMTP connection, or None with every pending email failed and why."""
    connection = get_connection(backend)
    try:
        connection.open()
    except (OSError, smtplib.SMTPException) as e:
        # Nothing went: each email says why, and the next run tries again.
        failed = ReminderEmail.objects.filter(pk__in=pending).update(
            status=ReminderEmail.Status.FAILED,
            error=f"Could not reach the SMTP server: {e}",
            attempts=F("attempts") + 1,
        )
        result.failed = result.by_status["failed"] = failed
        return None
    return connection


def send(
    partner_id: int,
    today: dt.date,
    email_ids: list[int] | None = None,
    backend: str | None = None,
) -> RunResult:
    """Send the partner's queued (and retryable failed) reminder emails of today.

    `backend` is an email backend's dotted path other than the configured one.
    """
    result = RunResult()
    partner = Partner.objects.get(pk=partner_id)
    emails = ReminderEmail.objects.filter(partner_id=partner_id, kind__in=SCHEDULE_KINDS).filter(
        Q(status=ReminderEmail.Status.QUEUED)
        | Q(status=ReminderEmail.Status.FAILED, attempts__lt=MAX_ATTEMPTS)
    )
    if email_ids is None:
        emails = emails.filter(send_date=today)
    else:
        emails = emails.filter(pk__in=email_ids)
    pending = list(emails.order_by("id").values_list("id", flat=True))
    if not pending:
        return result
    connection = open_smtp(pending, result, backend)
    if connection is None:
        return result
    templates = Templates()
    try:
        mailer = Mailer(partner, connection)
        for start in range(0, len(pending), CHUNK):
            send_chunk(mailer, pending[start : start + CHUNK], today, templates, result)
    finally:
        connection.close()
    return result


def new_pay_links(partner: Partner, emails: list[ReminderEmail]) -> None:
    """Give each email without one a portal link to pay, made in one statement."""
    now = clock.now()
    missing = [e for e in emails if e.pay_link_id is None]
    links = PortalLink.objects.bulk_create(
        PortalLink(
            partner_id=partner.pk,
            customer_id=e.customer_id,
            created_at=now,
            expires_at=now + dt.timedelta(days=PAY_LINK_DAYS),
        )
        for e in missing
    )
    for email, link in zip(missing, links, strict=True):
        email.pay_link = link


class Mailer:
    """One partner's sender, over one SMTP connection: each email to each of its contacts."""

    def __init__(self, partner: Partner, connection) -> None:
        self.partner, self.connection = partner, connection
        self.urls = Urls(partner)
        self.sender = formataddr(
            (partner.display_name or partner.name, settings.DEFAULT_FROM_EMAIL)
        )
        self.reply_to = [partner.support_email] if partner.support_email else None
        self.domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"

    def deliver(
        self,
        email: ReminderEmail,
        contacts: list[Contact],
        compose: Callable[[Contact], tuple[str, str]],
        result: RunResult,
    ) -> None:
        """Send `email` to each contact as `compose` writes it; set its status and error."""
        email.attempts += 1
        email.recipients = ", ".join(c.email for c in contacts)
        refused, errors = [], []
        for contact in contacts:
            email.subject, email.body = compose(contact)
            message = EmailMessage(
                email.subject,
                email.body,
                self.sender,
                [contact.email],
                reply_to=self.reply_to,
                # The idempotency key of this write: a resend is the same message.
                headers={"Message-ID": f"<{email.idempotency_key}-{contact.pk}@{self.domain}>"},
                connection=self.connection,
            )
            try:
                message.send()
            except Exception as e:  # noqa: BLE001 - SMTP failures of every kind are kept
                if isinstance(e, smtplib.SMTPRecipientsRefused):
                    refused.append(f"{contact.email}: {e.recipients.get(contact.email, e)}")
                else:
                    errors.append(f"{contact.email}: {e}")
                    reopen(self.connection)
        if errors:
            email.status, email.error = ReminderEmail.Status.FAILED, "; ".join(errors + refused)
            result.failed += 1
        elif len(refused) == len(contacts):
            email.status, email.error = ReminderEmail.Status.BOUNCED, "; ".join(refused)
            result.failed += 1
        else:
            email.status, email.error = ReminderEmail.Status.SENT, "; ".join(refused)
            email.sent_at = clock.now()
            result.sent += 1


def send_chunk(
    mailer: Mailer, ids: list[int], today: dt.date, templates: Templates, result: RunResult
) -> None:
    partner, urls = mailer.partner, mailer.urls
    emails = list(ReminderEmail.objects.filter(pk__in=ids).select_related("customer"))
    reminders: dict[int, list[Reminder]] = {}
    chasable_ids = set(
        chasable(partner.pk)
        .filter(pk__in=Reminder.objects.filter(email_id__in=ids).values("invoice_id"))
        .values_list("id", flat=True)
    )
    for reminder in (
        Reminder.objects.filter(email_id__in=ids)
        .select_related("invoice", "step")
        .order_by("invoice__due_date", "invoice_id")
    ):
        if reminder.invoice_id in chasable_ids:
            reminders.setdefault(reminder.email_id, []).append(reminder)
    to = recipients([e.customer_id for e in emails])
    new_pay_links(partner, [e for e in emails if reminders.get(e.pk) and to.get(e.customer_id)])
    for email in emails:
        lines = reminders.get(email.pk)
        contacts = to.get(email.customer_id)
        if not lines:
            email.status, email.error = ReminderEmail.Status.CANCELLED, "Nothing left to remind."
            continue
        if not contacts:
            email.status = ReminderEmail.Status.NO_RECIPIENT
            email.error = "The customer has no billing contact to remind."
            continue
        pay_url = urls.pay(email.pay_link)
        latest = max(lines, key=lambda r: r.offset_days if r.offset_days is not None else -999)
        invoices = [r.invoice for r in lines]

        def compose(
            contact: Contact, email=email, invoices=invoices, latest=latest, pay_url=pay_url
        ):
            return render(
                templates,
                urls,
                partner,
                email.customer,
                invoices,
                latest.step,
                latest.offset_days,
                pay_url,
                urls.stop(contact.pk),
                today,
            )

        mailer.deliver(email, contacts, compose, result)
    save_outcomes(emails)
    for email in emails:
        result.by_status[email.status] = result.by_status.get(email.status, 0) + 1


OUTCOME = ("status", "error", "attempts", "recipients", "subject", "body", "pay_link", "sent_at")


def save_outcomes(emails: list[ReminderEmail]) -> None:
    """Save what sending did to each email, in one prepared statement.

    bulk_update's CASE per row and field costs more than the rows are worth.
    """
    db = connections[ReminderEmail.objects.db]
    fields = [ReminderEmail._meta.get_field(name) for name in OUTCOME]
    quote = db.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    rows = [
        [f.get_db_prep_save(getattr(email, f.attname), db) for f in fields] + [email.pk]
        for email in emails
    ]
    with db.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {quote(ReminderEmail._meta.db_table)} SET {assignments} WHERE id = %s",  # noqa: S608
            rows,
        )


def reopen(connection) -> None:
    """Start a fresh SMTP session after a failure left the old one in doubt."""
    try:
        connection.close()
    finally:
        try:
            connection.open()
        except OSError:
            logger.warning("Could not reconnect to the SMTP server", exc_info=True)


def run(partner_id: int, today: dt.date | None = None) -> RunResult:
    """Plan and send the partner's reminders of `today`."""
    today = today or clock.today()
    evaluated, planned = plan(partner_id, today)
    result = send(partner_id, today)
    result.evaluated, result.planned = evaluated, planned
    return result


def send_now(customer: Customer, by=None, key: str = "") -> ReminderEmail:
    """Send a customer their open invoices at once, outside the schedule, by a person's hand.

    `key` is the caller's idempotency key: a second call with it returns the first email.
    """
    if key and (found := existing_send(customer.partner_id, key)) is not None:
        return found
    today = clock.today()
    invoices = list(
        chasable(customer.partner_id).filter(customer=customer).values_list("id", flat=True)
    )
    try:
        with transaction.atomic():
            email = ReminderEmail.objects.create(
                partner_id=customer.partner_id,
                customer=customer,
                kind=ReminderEmail.Kind.MANUAL,
                send_date=today,
                created_by=by,
                request_key=key,
            )
            Reminder.objects.bulk_create(
                Reminder(partner_id=customer.partner_id, invoice_id=i, email=email)
                for i in invoices
            )
    except IntegrityError:
        return existing_send(customer.partner_id, key)  # the same key, at the same moment
    send(customer.partner_id, today, email_ids=[email.pk])
    email.refresh_from_db()
    return email


def existing_send(partner_id: int, key: str) -> ReminderEmail | None:
    return ReminderEmail.objects.filter(partner_id=partner_id, request_key=key).first()
