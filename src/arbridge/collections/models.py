"""Reminder sequences, their sending record, and what a person notes while collecting.

A partner has one default `Sequence`; a customer may follow another
(`CustomerPolicy.sequence`). A sequence's `Step`s sit at offsets in days from
an invoice's due date. The record of what was sent is one `Reminder` row per
invoice and step offset (unique), each pointing at the `ReminderEmail` that
carried it; a customer gets at most one reminder email a day, grouping every
invoice of theirs due a step that day.
"""

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.db import models
from django.db.models import Q
from django.urls import reverse

from arbridge.core import clock
from arbridge.core.models import PartnerOwned, PartnerQuerySet
from arbridge.core.money import money_field
from arbridge.ledger.models import Contact, Customer, Invoice

UNSUBSCRIBE_SALT = "arbridge.collections.unsubscribe"

# The default schedule: T-3, the due date, +3, +7, +14 and a +30 final notice.
DEFAULT_OFFSETS = (-3, 0, 3, 7, 14, 30)

DEFAULT_SUBJECTS = {
    -3: "{{ what }} from {{ partner_name }}: due in 3 days",
    0: "{{ what }} from {{ partner_name }}: due today",
    3: "Reminder: {{ what }} from {{ partner_name }}, 3 days overdue",
    7: "Second reminder: {{ what }} from {{ partner_name }}, a week overdue",
    14: "{{ what }} from {{ partner_name }}: 14 days overdue",
    30: "Final notice: {{ what }} from {{ partner_name }}, 30 days overdue",
}

# A new step starts from this body; the partner edits its copy in the dashboard.
DEFAULT_BODY = (Path(__file__).parent / "templates/collections/email/reminder.txt").read_text()


class Sequence(PartnerOwned):
    """A schedule of reminder steps: the partner's default, or one some customers follow."""

    name = models.CharField(max_length=120)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner"], condition=Q(is_default=True), name="one_default_sequence"
            )
        ]
        ordering = ["-is_default", "name", "id"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def default_for(cls, partner) -> "Sequence":
        """Return the partner's default sequence, made with the default steps if missing."""
        sequence = cls.objects.for_partner(partner).filter(is_default=True).first()
        if sequence is None:
            sequence = cls.objects.create(
                partner_id=getattr(partner, "pk", partner), name="Standard", is_default=True
            )
            sequence.add_default_steps()
        return sequence

    def add_default_steps(self) -> None:
        Step.objects.bulk_create(
            Step(
                partner_id=self.partner_id,
                sequence=self,
                offset_days=offset,
                subject_template=DEFAULT_SUBJECTS[offset],
                body_template=DEFAULT_BODY,
                is_final=offset == DEFAULT_OFFSETS[-1],
            )
            for offset in DEFAULT_OFFSETS
        )


class Step(PartnerOwned):
    """One reminder, sent `offset_days` after an invoice's due date (negative: before)."""

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="steps")
    offset_days = models.IntegerField()
    subject_template = models.CharField(max_length=255)
    body_template = models.TextField()
    is_final = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sequence", "offset_days"], name="one_step_per_offset")
        ]
        ordering = ["offset_days"]

    def __str__(self) -> str:
        return label_offset(self.offset_days)


def label_offset(offset: int) -> str:
    if offset == 0:
        return "due date"
    return f"T{offset:+d}"


class CustomerPolicy(PartnerOwned):
    """How one customer is chased: another sequence than the default, or paused."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="+")
    sequence = models.ForeignKey(
        Sequence, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    paused = models.BooleanField(default=False)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pause_reason = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"Collections policy of {self.customer_id}"

    @classmethod
    def for_customer(cls, customer: Customer) -> "CustomerPolicy":
        policy, _ = cls.objects.get_or_create(
            customer=customer, defaults={"partner_id": customer.partner_id}
        )
        return policy

    def pause(self, by=None, reason: str = "") -> None:
        self.paused, self.paused_at, self.paused_by = True, clock.now(), by
        self.pause_reason = reason
        self.save(update_fields=["paused", "paused_at", "paused_by", "pause_reason"])

    def resume(self) -> None:
        self.paused, self.paused_at, self.paused_by, self.pause_reason = False, None, None, ""
        self.save(update_fields=["paused", "paused_at", "paused_by", "pause_reason"])


class ReminderEmail(PartnerOwned):
    """One email to a customer's billing contacts: a day's reminders, a statement, or by hand."""

    class Kind(models.TextChoices):
        REMINDER = "reminder"
        MANUAL = "manual", "Sent by hand"
        STATEMENT = "statement"

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENT = "sent"
        FAILED = "failed"
        BOUNCED = "bounced"
        NO_RECIPIENT = "no_recipient", "No billing contact"
        CANCELLED = "cancelled", "Not sent: nothing left to remind"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.REMINDER)
    send_date = models.DateField(default=clock.today)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    recipients = models.TextField(blank=True, help_text="Comma-separated addresses.")
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    pay_link = models.ForeignKey(
        "portal.PortalLink", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The API caller's Idempotency-Key of a send by hand: asked again, the same email answers.
    request_key = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One scheduled reminder email and one statement per customer a day.
            models.UniqueConstraint(
                fields=["customer", "send_date", "kind"],
                condition=~Q(kind="manual"),
                name="one_scheduled_email_per_customer_day",
            ),
            models.UniqueConstraint(
                fields=["partner", "request_key"],
                condition=~Q(request_key=""),
                name="one_email_per_request_key",
            ),
        ]
        indexes = [
            models.Index(fields=["partner", "send_date", "status"]),
            models.Index(fields=["customer", "created_at"]),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} email to customer {self.customer_id} on {self.send_date}"

    @property
    def idempotency_key(self) -> str:
        """The Message-ID's left side: one per email row, so a resend is recognisable."""
        return f"arbridge-reminder-{self.pk}"


class Reminder(PartnerOwned):
    """One step of one invoice's sequence, sent (or being sent) in `email`."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="+")
    # The offset names the step: a sequence edited later keeps what was sent.
    offset_days = models.IntegerField(null=True, blank=True, help_text="Empty when sent by hand.")
    step = models.ForeignKey(
        Step, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.ForeignKey(ReminderEmail, on_delete=models.CASCADE, related_name="reminders")
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "offset_days"],
                condition=Q(offset_days__isnull=False),
                name="one_reminder_per_invoice_step",
            )
        ]
        indexes = [models.Index(fields=["invoice", "created_at"])]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Reminder {self.step_label} for invoice {self.invoice_id}"

    @property
    def step_label(self) -> str:
        return "by hand" if self.offset_days is None else label_offset(self.offset_days)


class Unsubscribe(PartnerOwned):
    """A billing contact who asked for no more reminders (receipts still go)."""

    contact = models.OneToOneField(Contact, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=clock.now)


def unsubscribe_token(contact_id: int) -> str:
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(str(contact_id))


def unsubscribe_path(contact_id: int) -> str:
    return reverse("collections:unsubscribe", args=[unsubscribe_token(contact_id)])


def contact_from_token(token: str) -> int | None:
    try:
        return int(signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None


class Note(PartnerOwned):
    """What a person recorded about a customer: a note, or a promise to pay by a date."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(blank=True)
    promised_amount = money_field(null=True, blank=True, default=None)
    promised_date = models.DateField(null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def is_promise(self) -> bool:
        return self.promised_date is not None


class CollectionsSettings(models.Model):
    """A partner's collections switches: reminders on or off, and the statement day."""

    partner = models.OneToOneField("core.Partner", on_delete=models.CASCADE, related_name="+")
    reminders_enabled = models.BooleanField(default=True)
    statement_day = models.PositiveSmallIntegerField(
        default=0, help_text="Day of the month (1-28) monthly statements go; 0 sends none."
    )

    objects = PartnerQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Collections settings of partner {self.partner_id}"

    @classmethod
    def for_partner(cls, partner) -> "CollectionsSettings":
        found, _ = cls.objects.get_or_create(partner_id=getattr(partner, "pk", partner))
        return found


class Statement(PartnerOwned):
    """A customer's monthly statement: one row per customer and month is the record it went."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="The first day of the month the statement is for.")
    email = models.OneToOneField(ReminderEmail, on_delete=models.CASCADE, related_name="statement")
    currency = models.CharField(max_length=3, default="USD")
    balance = money_field()
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "month"], name="one_statement_per_month")
        ]
        ordering = ["-month", "-id"]

    def __str__(self) -> str:
        return f"Statement of {self.month:%B %Y} for customer {self.customer_id}"


def step_date(invoice: Invoice, offset: int) -> dt.date:
    return invoice.due_date + dt.timedelta(days=offset)
