"""Auto pay: a partner's settings and rules, customers' enrollments, and every charge attempt.

An Enrollment says a customer's saved method (payments.SavedMethod) pays
their invoices by itself; the evidence of the authorization (who, when, from
where, the mandate text for a bank account) is kept with it. Rules, ordered
by priority, decide the day each open invoice is charged (first match wins);
the runner (autopay/runner.py) makes the charges. Each Attempt is one row
per (invoice, attempt number): the row is created before the processor is
asked, so it is both the lock that lets one runner only charge and the
idempotency key of the charge (`Attempt.key`).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.core.validators import MaxValueValidator
from django.db import models

from arbridge.core import clock
from arbridge.core.models import Partner, PartnerOwned
from arbridge.core.money import money_field
from arbridge.ledger.models import Customer, Invoice, Payment
from arbridge.payments.models import SavedMethod

DEFAULT_RETRY_DAYS = "3,5,7"
# Payment terms as the sources name them: QuickBooks' "Net 30" (through HaloPSA's
# qbo_term_name too), "30 days", "Due on receipt".
NET_DAYS = re.compile(r"\bnet\s*(\d{1,3})\b|^\s*(\d{1,3})\s*days?\b", re.IGNORECASE)
ON_RECEIPT = re.compile(r"\b(on|upon) receipt\b|^\s*(cod|immediate)\s*$", re.IGNORECASE)


def terms_days(terms: str) -> int | None:
    """Return the days payment terms give to pay ("Net 30": 30, "Due on receipt": 0), or None."""
    if ON_RECEIPT.search(terms or ""):
        return 0
    match = NET_DAYS.search(terms or "")
    return int(match.group(1) or match.group(2)) if match else None


def due_date(invoice: Invoice) -> dt.date | None:
    """Return an invoice's due date: the source's, else what its payment terms make it."""
    if invoice.due_date is not None:
        return invoice.due_date
    days = terms_days(invoice.terms)
    return None if days is None else invoice.issue_date + dt.timedelta(days=days)


class AutopaySettings(models.Model):
    """A partner's auto pay: on or off, the pilot, the notice lead time and the retry schedule."""

    partner = models.OneToOneField(
        Partner, on_delete=models.CASCADE, related_name="autopay_settings"
    )
    enabled = models.BooleanField(default=False)
    pilot = models.BooleanField(
        default=False,
        help_text="Charge only the enrollments marked as pilot (5 to 10 customers for the first "
        "cycle).",
    )
    lead_days = models.PositiveSmallIntegerField(
        default=3,
        validators=[MaxValueValidator(30)],
        help_text="Days before a charge that the customer is told of it.",
    )
    retry_days = models.CharField(
        max_length=100,
        default=DEFAULT_RETRY_DAYS,
        help_text="Days between retries of a soft decline, e.g. 3,5,7.",
    )
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name_plural = "auto pay settings"

    def __str__(self) -> str:
        return f"Auto pay of {self.partner}"

    @classmethod
    def of(cls, partner: Partner | int) -> AutopaySettings:
        partner_id = partner if isinstance(partner, int) else partner.pk
        settings, _ = cls.objects.get_or_create(partner_id=partner_id)
        return settings

    @property
    def retry_schedule(self) -> list[int]:
        return [int(part) for part in self.retry_days.replace(" ", "").split(",") if part]


class Rule(PartnerOwned):
    """When an invoice is charged; a partner's rules are tried by priority, first match wins."""

    class Trigger(models.TextChoices):
        BEFORE_DUE = "before_due", "days before the due date"
        AFTER_DUE = "after_due", "days after the due date"
        AFTER_CREATED = "after_created", "days after the invoice is created"

    priority = models.PositiveIntegerField(default=100, help_text="Lower is tried first.")
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.AFTER_DUE)
    days = models.PositiveSmallIntegerField(default=0)
    terms = models.CharField(
        max_length=255,
        blank=True,
        help_text="Only invoices with these payment terms, comma-separated (e.g. Net 30); "
        "empty for any.",
    )
    agreements = models.CharField(
        max_length=255,
        blank=True,
        help_text="Only invoices billing these agreement types (HaloPSA's agreement subtypes), "
        "comma-separated (e.g. Managed services); empty for any.",
    )
    amount_cap = money_field(
        null=True,
        blank=True,
        default=None,
        help_text="Above this balance, remind the customer instead of charging.",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return f"{self.days} {self.get_trigger_display()}"

    @property
    def term_names(self) -> set[str]:
        return {t.strip().lower() for t in self.terms.split(",") if t.strip()}

    @property
    def agreement_names(self) -> set[str]:
        return {a.strip().lower() for a in self.agreements.split(",") if a.strip()}

    def matches(self, invoice: Invoice) -> bool:
        names = self.term_names
        if names and (invoice.terms or "").strip().lower() not in names:
            return False
        agreements = self.agreement_names
        if agreements and (invoice.agreement or "").strip().lower() not in agreements:
            return False
        return self.trigger == self.Trigger.AFTER_CREATED or due_date(invoice) is not None

    def charge_date(self, invoice: Invoice) -> dt.date:
        """Return the day this rule charges an invoice it matches."""
        days = dt.timedelta(days=self.days)
        if self.trigger == self.Trigger.BEFORE_DUE:
            return due_date(invoice) - days
        if self.trigger == self.Trigger.AFTER_DUE:
            return due_date(invoice) + days
        return invoice.issue_date + days

    def is_over_cap(self, amount: Decimal) -> bool:
        return self.amount_cap is not None and amount > self.amount_cap


def first_match(rules: list[Rule], invoice: Invoice) -> Rule | None:
    """Return the rule that decides an invoice's charge: the first by priority that matches."""
    return next((rule for rule in rules if rule.active and rule.matches(invoice)), None)


class Enrollment(PartnerOwned):
    """A customer's authorization for a saved method to pay their invoices unattended."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        SUSPENDED = "suspended"  # the method was removed, expired or refused; the customer acts
        CANCELLED = "cancelled"

    class Source(models.TextChoices):
        PORTAL = "portal", "The customer, in the portal"
        PARTNER = "partner", "The partner, with the customer's authorization"

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="autopay")
    method = models.ForeignKey(
        SavedMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.PORTAL)
    pilot = models.BooleanField(default=False)
    # The authorization as given: the words agreed to (an ACH mandate's text), and
    # who, when and from where (IP address, browser, the partner's user).
    authorization = models.TextField(blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    suspended_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [models.Index(fields=["partner", "status"])]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Auto pay of {self.customer_id} ({self.status})"

    @classmethod
    def enroll(
        cls,
        method: SavedMethod,
        *,
        source: str,
        authorization: str = "",
        evidence: dict | None = None,
        pilot: bool = False,
    ) -> Enrollment:
        """Enroll a method's customer (again), with the authorization's words and evidence.

        A bank account needs its mandate text: NACHA asks that it be kept two years.
        """
        if method.removed_at is not None:
            raise ValueError("That payment method was removed.")
        if method.kind == "ach" and not authorization:
            raise ValueError("A bank account needs the debit authorization's text.")
        now = clock.now()
        enrollment, _ = cls.objects.update_or_create(
            customer_id=method.customer_id,
            defaults={
                "partner_id": method.partner_id,
                "method": method,
                "status": cls.Status.ACTIVE,
                "source": source,
                "authorization": authorization,
                "evidence": {"at": now.isoformat(), **(evidence or {})},
                "pilot": pilot,
                "suspended_reason": "",
                "updated_at": now,
            },
        )
        return enrollment

    @property
    def is_active(self) -> bool:
        return (
            self.status == self.Status.ACTIVE
            and self.method is not None
            and self.method.removed_at is None
        )

    def cancel(self) -> None:
        self.status, self.updated_at = self.Status.CANCELLED, clock.now()
        self.save(update_fields=["status", "updated_at"])

    def suspend(self, reason: str) -> None:
        self.status, self.suspended_reason = self.Status.SUSPENDED, reason[:255]
        self.updated_at = clock.now()
        self.save(update_fields=["status", "suspended_reason", "updated_at"])


class Step(models.TextChoices):
    """What happens after an attempt."""

    NONE = "none", "Nothing: paid"
    WAIT = "wait", "Wait for the bank"
    RETRY = "retry", "Retry"
    UPDATE_METHOD = "update_method", "The customer updates the payment method"
    REAUTHORIZE = "reauthorize", "The customer authorizes the debit again"
    STOP = "stop", "Stop: pay another way"
    REMIND = "remind", "Remind the customer to pay"


class Attempt(PartnerOwned):
    """One charge of one invoice by auto pay; (invoice, number) is unique, so it is charged once."""

    class Status(models.TextChoices):
        PROCESSING = "processing"  # claimed; the processor is being (or was to be) asked
        PENDING = "pending"  # an ACH debit in flight
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        SKIPPED = "skipped"  # nothing left to charge when re-read from the source
        REMINDED = "reminded"  # over the rule's cap: the customer was asked to pay

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="autopay_attempts")
    number = models.PositiveSmallIntegerField(default=1)
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="attempts")
    method = models.ForeignKey(
        SavedMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    method_kind = models.CharField(max_length=8, blank=True)
    method_brand = models.CharField(max_length=40, blank=True)
    method_last4 = models.CharField(max_length=4, blank=True)
    amount = money_field()
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROCESSING)
    payment = models.OneToOneField(
        Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="autopay_attempt"
    )
    processor_reference = models.CharField(max_length=255, blank=True)
    decline_code = models.CharField(max_length=40, blank=True)
    advice_code = models.CharField(max_length=4, blank=True)
    message = models.CharField(max_length=500, blank=True)
    next_step = models.CharField(max_length=16, choices=Step.choices, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice", "number"], name="one_attempt_per_number")
        ]
        indexes = [
            models.Index(fields=["partner", "status", "next_attempt_at"]),
            models.Index(fields=["method", "created_at"]),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Auto pay attempt {self.number} of invoice {self.invoice_id}"

    @property
    def key(self) -> str:
        """The charge's idempotency key: one per (invoice, attempt)."""
        return f"autopay-{self.invoice_id}-{self.number}"


class Notice(PartnerOwned):
    """A notice about an invoice sent once: the charge coming up, or a reminder over the cap."""

    class Kind(models.TextChoices):
        UPCOMING = "upcoming"
        OVER_CAP = "over_cap", "Over the cap: please pay"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    charge_on = models.DateField()
    sent_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "kind", "charge_on"], name="one_notice_per_charge"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} notice for invoice {self.invoice_id}"
