"""Payments, and the parts of them applied to invoices."""

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from django.db import models, transaction
from django.db.models import Q, Sum

from arbridge.core import clock
from arbridge.core.models import PartnerOwned
from arbridge.core.money import ZERO, money_field, quantize
from arbridge.ledger.models.customers import Customer
from arbridge.ledger.models.guarded import Guarded, LedgerError
from arbridge.ledger.models.invoices import Invoice
from arbridge.ledger.models.states import PaymentOrigin, PaymentStatus


class Payment(Guarded):
    Status = PaymentStatus
    Origin = PaymentOrigin

    class Method(models.TextChoices):
        CARD = "card"
        ACH = "ach"
        CHECK = "check"
        CASH = "cash"
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        OTHER = "other"

    # Statuses whose allocations hold money on their invoices.
    LIVE = (Status.PENDING, Status.SUCCEEDED)
    # Forward only: a late "succeeded" must not revive a refunded payment. A pending
    # payment may skip ahead, since processor events can arrive out of order.
    TRANSITIONS = {
        Status.PENDING: {Status.SUCCEEDED, Status.FAILED, Status.REFUNDED, Status.RETURNED},
        Status.SUCCEEDED: {Status.REFUNDED, Status.RETURNED},
        Status.FAILED: set(),
        Status.REFUNDED: set(),
        Status.RETURNED: set(),
    }

    ledger_fields = ("amount", "currency", "status", "origin")

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
        "core.Connection",
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
        indexes = [
            models.Index(fields=["partner", "status", "id"]),
            models.Index(fields=["partner", "updated_at", "id"]),
        ]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive")]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Payment {self.pk} {self.amount} {self.currency}"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE

    @property
    def unapplied(self) -> Decimal:
        applied = self.allocations.aggregate(s=Sum("amount"))["s"] or ZERO
        return self.amount - quantize(applied, self.currency)

    def prepare_new(self) -> None:
        self.amount = quantize(self.amount, self.currency)
        if self.amount <= 0:
            raise LedgerError(f"a payment must be positive, not {self.amount}")
        self.status = self.Status(self.status)
        self.origin = self.Origin(self.origin)

    @contextmanager
    def _change(self) -> Iterator["Payment"]:
        """Lock this payment's row and yield a fresh copy."""
        with transaction.atomic():
            yield Payment.objects.select_for_update().get(pk=self.pk)

    def _check_invoice(self, invoice: Invoice) -> None:
        if invoice.partner_id != self.partner_id:
            raise LedgerError("payment and invoice belong to different partners")
        if invoice.currency != self.currency:
            raise LedgerError(
                f"payment in {self.currency} cannot pay an invoice in {invoice.currency}"
            )

    def allocate(self, invoice: Invoice, amount: Decimal) -> "PaymentAllocation":
        """Apply part of this payment to an invoice; refused beyond what it may take."""
        amount = quantize(amount, self.currency)
        if amount <= 0:
            raise LedgerError("an allocation must be positive")
        self._check_invoice(invoice)
        with self._change() as payment, invoice._change() as locked:
            if not payment.is_live:
                raise LedgerError(f"a {payment.status} payment cannot be applied")
            if amount > payment.unapplied:
                raise LedgerError(f"only {payment.unapplied} of the payment is unapplied")
            if locked.is_void:
                raise LedgerError(f"invoice {locked.number} is void")
            settlement = locked.settlement()
            locked._derive(settlement)
            room = locked.room(settlement, payment.origin)
            if amount > room:
                raise LedgerError(f"invoice {locked.number} can take at most {room}")
            allocation, created = PaymentAllocation.objects.get_or_create(
                payment=payment,
                invoice=locked,
                defaults={"partner_id": self.partner_id, "amount": amount},
            )
            if not created:
                allocation.amount += amount
                allocation.save(update_fields=["amount"])
        return allocation

    def unallocate(self, invoice: Invoice) -> None:
        """Take this payment off an invoice, as when the source unlinks it."""
        self._check_invoice(invoice)
        with self._change() as payment, invoice._change() as locked:
            PaymentAllocation.objects.filter(payment=payment, invoice=locked).delete()

    def set_amount(self, amount: Decimal) -> None:
        """Take a new amount from the source; refused below what is already applied."""
        amount = quantize(amount, self.currency)
        if amount <= 0:
            raise LedgerError(f"a payment must be positive, not {amount}")
        with self._change() as payment:
            applied = payment.amount - payment.unapplied
            if amount < applied:
                raise LedgerError(f"payment {payment.pk} already has {applied} applied")
            payment.amount = amount
            payment.updated_at = clock.now()
            payment._write("amount", "updated_at")
        self._take(payment, "amount", "updated_at")

    def set_status(self, status: str) -> None:
        """Move the payment to a new status and re-derive every invoice it touches."""
        try:
            status = self.Status(status)
        except ValueError:
            raise LedgerError(f"no such payment status: {status!r}") from None
        with self._change() as payment:
            if status == payment.status:
                return
            if status not in self.TRANSITIONS[payment.status]:
                raise LedgerError(f"a {payment.status} payment cannot become {status}")
            payment.status = status
            payment.updated_at = clock.now()
            payment._write("status", "updated_at")
            touched = Invoice.objects.filter(pk__in=payment.allocations.values("invoice_id"))
            for invoice in touched.select_for_update().order_by("pk"):
                invoice._derive(invoice.settlement())
                invoice._write_ledger()
        self._take(payment, "status", "updated_at")


class PaymentAllocation(PartnerOwned):
    """The part of a payment applied to one invoice; made by Payment.allocate only."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = money_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["payment", "invoice"], name="one_allocation_per_pair"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} of payment {self.payment_id} to invoice {self.invoice_id}"
