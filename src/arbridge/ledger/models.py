"""The canonical accounts-receivable model, and the one place its invariants live.

An invoice's balance is derived, never set:

    balance = total - succeeded allocations - credits - source adjustment

where the source adjustment is what the source system says was settled by
means arbridge has no record of (a payment or credit entered there that the
connector cannot see as such). It is the reported source balance's shortfall,
clamped so that 0 <= balance <= total whatever order changes arrive in. A
source balance above arbridge's own (a payment taken here and not yet written
back) never raises the balance again. Pending payments (ACH in flight) hold
their amount: `payable` is what may still be paid.
"""

from decimal import Decimal

from django.db import models, transaction
from django.db.models import Q, Sum

from arbridge.core import clock
from arbridge.core.models import PartnerOwned
from arbridge.core.money import ZERO, money_field, quantize


class LedgerError(ValueError):
    """A change that would break a ledger invariant; nothing was written."""


class Customer(PartnerOwned):
    name = models.CharField(max_length=255)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    billing_state = models.CharField(
        max_length=2,
        blank=True,
        help_text="Two-letter US state or territory of the billing address.",
    )
    billing_country = models.CharField(max_length=2, blank=True)
    # The connection whose invoices without a customer land here (one per connection).
    unknown_for = models.OneToOneField(
        "integrations.Connection",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="unknown_customer",
    )
    archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    source_deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="When the source reported it deleted."
    )
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["partner", "name"])]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_unknown(self) -> bool:
        return self.unknown_for_id is not None

    def archive(self) -> None:
        """Archive in arbridge only; nothing is deleted in any source."""
        if not self.archived:
            self.archived, self.archived_at = True, clock.now()
            self.save(update_fields=["archived", "archived_at"])


class Contact(PartnerOwned):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=255, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    is_billing = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=clock.now)

    def __str__(self) -> str:
        return self.name or self.email


class Invoice(PartnerOwned):
    class Status(models.TextChoices):
        OPEN = "open"
        PARTIALLY_PAID = "partially_paid", "Partially paid"
        PAID = "paid"
        VOID = "void"

    connection = models.ForeignKey(
        "integrations.Connection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invoices",
        help_text="The connection it came from; empty when created in arbridge.",
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(max_length=64)
    currency = models.CharField(max_length=3, default="USD")
    issue_date = models.DateField()
    due_date = models.DateField(null=True, blank=True)
    terms = models.CharField(max_length=64, blank=True)
    memo = models.TextField(blank=True)
    total = money_field()
    balance = money_field()
    source_balance = money_field(null=True, blank=True, default=None)
    source_adjustment = money_field()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    source_deleted_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [
            models.Index(fields=["partner", "status", "id"]),
            models.Index(fields=["partner", "number"]),
            models.Index(fields=["partner", "customer", "id"]),
            models.Index(fields=["partner", "connection", "id"]),
            models.Index(fields=["partner", "updated_at", "id"]),
            models.Index(fields=["partner", "due_date"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0) & Q(balance__lte=models.F("total")),
                name="invoice_balance_within_total",
            ),
        ]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Invoice {self.number}"

    # -- derived amounts --------------------------------------------------

    def applied_payments(self, statuses=("succeeded",)) -> Decimal:
        total = self.allocations.filter(payment__status__in=statuses).aggregate(s=Sum("amount"))
        return total["s"] or ZERO

    def applied_credits(self) -> Decimal:
        return self.credits.aggregate(s=Sum("amount"))["s"] or ZERO

    def pending_amount(self) -> Decimal:
        """Return the amount held by payments that have not settled yet (ACH)."""
        return self.applied_payments(statuses=(Payment.Status.PENDING,))

    @property
    def payable(self) -> Decimal:
        """Return what a customer may still pay: the balance less pending payments."""
        return max(ZERO, self.balance - self.pending_amount())

    @property
    def is_overdue(self) -> bool:
        return (
            self.status in (self.Status.OPEN, self.Status.PARTIALLY_PAID)
            and self.due_date is not None
            and self.due_date < clock.today()
        )

    # -- the one place balances change -------------------------------------

    def recompute(self, save: bool = True) -> None:
        """Derive balance, source adjustment and status from the rows that settle it."""
        if self.voided_at is not None:
            self.balance, self.source_adjustment, self.status = ZERO, ZERO, self.Status.VOID
        else:
            settled = self.applied_payments() + self.applied_credits()
            remaining = self.total - settled
            if remaining < 0:
                raise LedgerError(
                    f"invoice {self.number}: {settled} applied exceeds the total {self.total}"
                )
            adjustment = ZERO
            if self.source_balance is not None:
                adjustment = min(max(remaining - self.source_balance, ZERO), remaining)
            self.source_adjustment = adjustment
            self.balance = quantize(remaining - adjustment, self.currency)
            if self.balance == 0:
                self.status = self.Status.PAID
            elif self.balance < self.total:
                self.status = self.Status.PARTIALLY_PAID
            else:
                self.status = self.Status.OPEN
        if save:
            self.updated_at = clock.now()
            self.save(update_fields=["balance", "source_adjustment", "status", "updated_at"])

    def set_total(self, total: Decimal) -> None:
        """Take a new total from the source; refused if already-applied money exceeds it."""
        total = quantize(total, self.currency)
        settled = self.applied_payments() + self.pending_amount() + self.applied_credits()
        if total < settled:
            raise LedgerError(
                f"invoice {self.number}: new total {total} is below the {settled} already applied"
            )
        self.total = total
        self.save(update_fields=["total"])
        self.recompute()

    def set_source_balance(self, balance: Decimal | None) -> None:
        """Record the balance the source reports; money settled there reduces ours."""
        if balance is not None:
            balance = quantize(balance, self.currency)
            if balance < 0:
                raise LedgerError(f"invoice {self.number}: negative source balance {balance}")
        self.source_balance = balance
        self.save(update_fields=["source_balance"])
        self.recompute()

    def void(self) -> None:
        if self.voided_at is None:
            self.voided_at = clock.now()
            self.save(update_fields=["voided_at"])
            self.recompute()

    def archive(self) -> None:
        """Archive in arbridge only; nothing is deleted in any source."""
        if not self.archived:
            self.archived, self.archived_at = True, clock.now()
            self.save(update_fields=["archived", "archived_at"])


class InvoiceLine(PartnerOwned):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    description = models.TextField(blank=True)
    item = models.CharField(max_length=255, blank=True)
    quantity = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal(1))
    unit_price = models.DecimalField(max_digits=14, decimal_places=4, default=ZERO)
    amount = money_field()

    class Meta:
        ordering = ["position", "id"]


class Payment(PartnerOwned):
    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        REFUNDED = "refunded"
        RETURNED = "returned"

    class Origin(models.TextChoices):
        ARBRIDGE = "arbridge"
        EXTERNAL = "external"

    class Method(models.TextChoices):
        CARD = "card"
        ACH = "ach"
        CHECK = "check"
        CASH = "cash"
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        OTHER = "other"

    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    amount = money_field()
    currency = models.CharField(max_length=3, default="USD")
    date = models.DateField(default=clock.today)
    method = models.CharField(max_length=16, choices=Method.choices, default=Method.OTHER)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.ARBRIDGE)
    connection = models.ForeignKey(
        "integrations.Connection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="payments",
        help_text="For an external payment, the connection it was found in.",
    )
    reference = models.CharField(max_length=255, blank=True)
    processor_reference = models.CharField(max_length=255, blank=True)
    source_deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="When the source reported this external payment deleted."
    )
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [models.Index(fields=["partner", "status", "id"])]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Payment {self.pk} {self.amount} {self.currency}"

    @property
    def unapplied(self) -> Decimal:
        applied = self.allocations.aggregate(s=Sum("amount"))["s"] or ZERO
        return self.amount - applied

    @transaction.atomic
    def allocate(self, invoice: Invoice, amount: Decimal) -> "PaymentAllocation":
        """Apply part of this payment to an invoice; refused beyond what may be paid."""
        amount = quantize(amount, self.currency)
        if amount <= 0:
            raise LedgerError("an allocation must be positive")
        if invoice.currency != self.currency:
            raise LedgerError(
                f"payment in {self.currency} cannot pay an invoice in {invoice.currency}"
            )
        if invoice.partner_id != self.partner_id:
            raise LedgerError("payment and invoice belong to different partners")
        if amount > self.unapplied:
            raise LedgerError(f"only {self.unapplied} of the payment is unapplied")
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.voided_at is not None:
            raise LedgerError(f"invoice {invoice.number} is void")
        # Money settled in the source (the adjustment) is gone for arbridge's payments,
        # not for the source's own, which replace the adjustment.
        room = (
            invoice.payable
            if self.origin == self.Origin.ARBRIDGE
            else (invoice.balance + invoice.source_adjustment - invoice.pending_amount())
        )
        if self.status in (self.Status.PENDING, self.Status.SUCCEEDED) and amount > room:
            raise LedgerError(f"invoice {invoice.number} can take at most {room}")
        allocation = PaymentAllocation.objects.create(
            partner_id=self.partner_id, payment=self, invoice=invoice, amount=amount
        )
        invoice.recompute()
        return allocation

    @transaction.atomic
    def set_status(self, status: str) -> None:
        """Move the payment to a new status and re-derive every invoice it touches."""
        self.status = status
        self.updated_at = clock.now()
        self.save(update_fields=["status", "updated_at"])
        for invoice in Invoice.objects.select_for_update().filter(allocations__payment=self):
            invoice.recompute()


class PaymentAllocation(PartnerOwned):
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = money_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["payment", "invoice"], name="one_allocation_per_pair"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_positive"),
        ]


class Credit(PartnerOwned):
    """A credit (credit memo, write-off) applied to one invoice."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credits")
    amount = money_field()
    currency = models.CharField(max_length=3, default="USD")
    date = models.DateField(default=clock.today)
    reference = models.CharField(max_length=255, blank=True)
    connection = models.ForeignKey(
        "integrations.Connection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="credit_positive")]

    @classmethod
    @transaction.atomic
    def apply(cls, invoice: Invoice, amount: Decimal, **fields) -> "Credit":
        """Apply a credit to an invoice; refused beyond its unsettled remainder."""
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        amount = quantize(amount, invoice.currency)
        room = invoice.balance + invoice.source_adjustment - invoice.pending_amount()
        if amount <= 0 or amount > room:
            raise LedgerError(f"invoice {invoice.number} can take a credit of at most {room}")
        credit = cls.objects.create(
            partner_id=invoice.partner_id,
            invoice=invoice,
            amount=amount,
            currency=invoice.currency,
            **fields,
        )
        invoice.recompute()
        return credit

    @transaction.atomic
    def remove(self) -> None:
        invoice = self.invoice
        self.delete()
        invoice.recompute()


class Deposit(PartnerOwned):
    """A processor payout: the payments in it, less fees, as it reached the bank."""

    amount = money_field(help_text="The payout: what reached the bank.")
    currency = models.CharField(max_length=3, default="USD")
    date = models.DateField(default=clock.today)
    processor_reference = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-date", "-id"]

    def lines_total(self) -> Decimal:
        return self.lines.aggregate(s=Sum("amount"))["s"] or ZERO

    def is_balanced(self) -> bool:
        """Return True if the lines add up to the payout."""
        return self.lines_total() == self.amount


class DepositLine(PartnerOwned):
    class Kind(models.TextChoices):
        PAYMENT = "payment"
        FEE = "fee"
        SURCHARGE = "surcharge"
        OTHER = "other"

    deposit = models.ForeignKey(Deposit, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PAYMENT)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="deposit_lines"
    )
    amount = money_field(help_text="Negative for fees.")
    description = models.CharField(max_length=255, blank=True)
