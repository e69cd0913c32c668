"""Collecting payments: a partner's processor, checkouts, saved methods, payouts, unmatched money.

A Checkout is one attempt by a customer to pay one or several invoices. Its
`key` is the idempotency key of the charge: the portal makes one per checkout
page, so a double-submitted form finds the checkout already paid and charges
nothing twice. The money itself lives in the ledger: a checkout that is paid
holds a ledger Payment for the amounts applied to invoices; any surcharge is
recorded here, on the checkout's lines, apart from the payment.

No card or account number is stored anywhere: only the processor's tokens,
the brand, the last four digits and the funding of a card.
"""

import uuid
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q, Sum

from arbridge.core import clock
from arbridge.core.crypto import EncryptedJSONField
from arbridge.core.models import Partner, PartnerOwned
from arbridge.core.money import ZERO, money_field
from arbridge.ledger.models import Customer, Deposit, Invoice, Payment

# Card networks cap surcharges at 3% (Visa, from 2023-04-15; DOMAIN.md, Surcharging).
MAX_SURCHARGE_RATE = Decimal("3.00")


class MethodKind(models.TextChoices):
    CARD = "card"
    ACH = "ach", "ACH bank debit"


class Funding(models.TextChoices):
    CREDIT = "credit"
    DEBIT = "debit"
    PREPAID = "prepaid"
    UNKNOWN = "unknown"


class PaymentSettings(models.Model):
    """A partner's processor and how it collects: one row per partner."""

    class Processor(models.TextChoices):
        SANDBOX = "sandbox", "Sandbox (test cards and bank accounts)"
        STRIPE = "stripe"

    partner = models.OneToOneField(
        Partner, on_delete=models.CASCADE, related_name="payment_settings"
    )
    processor = models.CharField(
        max_length=16, choices=Processor.choices, default=Processor.SANDBOX
    )
    # Keys and secrets, encrypted at rest: the processor's API key, webhook secret,
    # publishable key or the sandbox's base URL.
    credentials = EncryptedJSONField(default=dict, blank=True)
    surcharge_enabled = models.BooleanField(default=False)
    surcharge_rate = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        default=ZERO,
        validators=[MinValueValidator(ZERO), MaxValueValidator(MAX_SURCHARGE_RATE)],
        help_text="Percent of the amount paid by credit card; at most 3%.",
    )
    ach_writeback_at_initiation = models.BooleanField(
        default=False,
        help_text="Write ACH payments back when they start rather than when they settle; "
        "a return reverses them.",
    )
    events_cursor = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name_plural = "payment settings"

    def __str__(self) -> str:
        return f"{self.partner} via {self.processor}"

    @classmethod
    def of(cls, partner: Partner | int) -> "PaymentSettings":
        partner_id = partner if isinstance(partner, int) else partner.pk
        settings, _ = cls.objects.get_or_create(partner_id=partner_id)
        return settings


class SavedMethod(PartnerOwned):
    """A customer's method kept at the processor for later charges; never its number."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="saved_methods")
    processor = models.CharField(max_length=16)
    token = models.CharField(max_length=255, help_text="The processor's id for the method.")
    processor_customer = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=8, choices=MethodKind.choices)
    brand = models.CharField(max_length=40, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    funding = models.CharField(max_length=8, choices=Funding.choices, default=Funding.UNKNOWN)
    created_at = models.DateTimeField(default=clock.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "processor", "token"], name="one_saved_method_per_token"
            )
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.brand} ending {self.last4}".strip()


class Checkout(PartnerOwned):
    """One attempt by a customer to pay some invoices; paid at most once."""

    class Status(models.TextChoices):
        OPEN = "open"  # amounts chosen; method maybe chosen; nothing charged
        PROCESSING = "processing"  # the charge is being made
        REQUIRES_ACTION = "requires_action", "Awaiting authentication"
        PENDING = "pending"  # an ACH debit in flight
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    DONE = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="checkouts")
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    processor = models.CharField(max_length=16)
    # The method, as the processor described its token.
    method_token = models.CharField(max_length=255, blank=True)
    method_kind = models.CharField(max_length=8, choices=MethodKind.choices, blank=True)
    method_brand = models.CharField(max_length=40, blank=True)
    method_last4 = models.CharField(max_length=4, blank=True)
    method_funding = models.CharField(max_length=8, choices=Funding.choices, blank=True)
    save_method = models.BooleanField(default=False)
    saved_method = models.ForeignKey(
        SavedMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    surcharge_rate = models.DecimalField(max_digits=4, decimal_places=2, default=ZERO)
    payment = models.OneToOneField(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="checkout"
    )
    processor_reference = models.CharField(max_length=255, blank=True, db_index=True)
    action_url = models.URLField(max_length=1000, blank=True)
    # Where the processor returns the customer after authenticating; kept so a
    # retried charge sends the same parameters under the same idempotency key.
    return_url = models.URLField(max_length=1000, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    # The customer's address and browser when they confirmed: the evidence of an
    # ACH mandate accepted online, sent with the charge and kept with it.
    customer_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    receipt_email = models.EmailField(blank=True)
    receipt_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [models.Index(fields=["partner", "status", "updated_at"])]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Checkout {self.key}"

    @property
    def amount(self) -> Decimal:
        """What goes to the invoices."""
        return self.lines.aggregate(s=Sum("amount"))["s"] or ZERO

    @property
    def surcharge(self) -> Decimal:
        return self.lines.aggregate(s=Sum("surcharge"))["s"] or ZERO

    @property
    def total(self) -> Decimal:
        """What the customer is charged: the invoices' amounts plus any surcharge."""
        return self.amount + self.surcharge

    @property
    def is_done(self) -> bool:
        return self.status in self.DONE


class CheckoutLine(PartnerOwned):
    """What a checkout pays on one invoice, and the surcharge charged on it."""

    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="lines")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="checkout_lines")
    amount = money_field()
    surcharge = money_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["checkout", "invoice"], name="one_line_per_invoice"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="checkout_line_positive"),
            models.CheckConstraint(condition=Q(surcharge__gte=0), name="surcharge_not_negative"),
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.amount} on invoice {self.invoice_id}"


class ProcessorEvent(PartnerOwned):
    """An event already applied; the processor repeats events and they must change nothing."""

    event_id = models.CharField(max_length=255)
    kind = models.CharField(max_length=40)
    reference = models.CharField(max_length=255, blank=True)
    applied_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "event_id"], name="one_event_per_id")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id}"


class Payout(PartnerOwned):
    """A processor payout as it reached the bank, and the ledger deposit made of it."""

    reference = models.CharField(max_length=255)
    amount = money_field()
    currency = models.CharField(max_length=3, default="USD")
    arrival_date = models.DateField()
    deposit = models.OneToOneField(
        Deposit, null=True, blank=True, on_delete=models.SET_NULL, related_name="payout"
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "reference"], name="one_payout_per_ref")
        ]
        ordering = ["-arrival_date", "-id"]

    def __str__(self) -> str:
        return f"Payout {self.reference} {self.amount} {self.currency}"


class UnmatchedFunds(PartnerOwned):
    """Money the processor reported with no invoice arbridge could match it to."""

    class Status(models.TextChoices):
        OPEN = "open"
        APPLIED = "applied"

    reference = models.CharField(max_length=255, help_text="The processor's id for the money.")
    amount = money_field()
    currency = models.CharField(max_length=3, default="USD")
    memo = models.CharField(max_length=500, blank=True, help_text="The sender's reference.")
    received_at = models.DateTimeField(default=clock.now)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    payment = models.OneToOneField(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="unmatched_funds"
    )
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "unmatched funds"
        constraints = [
            models.UniqueConstraint(fields=["partner", "reference"], name="one_unmatched_per_ref")
        ]
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} {self.memo}".strip()
