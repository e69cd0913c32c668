"""Credits (credit memos, write-offs) applied to an invoice."""

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q

from arbridge.core import clock
from arbridge.core.models import PartnerOwned
from arbridge.core.money import money_field, quantize
from arbridge.ledger.models.guarded import LedgerError
from arbridge.ledger.models.invoices import Invoice
from arbridge.ledger.models.states import PaymentOrigin

if TYPE_CHECKING:
    from arbridge.core.models import Connection


class Credit(PartnerOwned):
    """A credit (credit memo, write-off) applied to one invoice."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credits")
    amount = money_field()
    currency = models.CharField(max_length=3, default="USD")
    date = models.DateField(default=clock.today)
    reference = models.CharField(max_length=255, blank=True)
    connection = models.ForeignKey(
        "core.Connection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="credit_positive")]

    def __str__(self) -> str:
        return f"Credit {self.reference or self.pk} {self.amount} {self.currency}"

    @classmethod
    def apply(
        cls,
        invoice: Invoice,
        amount: Decimal,
        *,
        date: dt.date | None = None,
        reference: str = "",
        connection: "Connection | None" = None,
    ) -> "Credit":
        """Apply a credit to an invoice; refused beyond what the invoice may take."""
        amount = quantize(amount, invoice.currency)
        if amount <= 0:
            raise LedgerError("a credit must be positive")
        with invoice._change() as locked:
            if locked.is_void:
                raise LedgerError(f"invoice {locked.number} is void")
            room = locked.room(locked.settlement(), PaymentOrigin.EXTERNAL)
            if amount > room:
                raise LedgerError(f"invoice {locked.number} can take a credit of at most {room}")
            return cls.objects.create(
                partner_id=locked.partner_id,
                invoice=locked,
                amount=amount,
                currency=locked.currency,
                date=date or clock.today(),
                reference=reference,
                connection=connection,
            )

    def remove(self) -> None:
        """Take the credit off its invoice, as when the source deletes it."""
        with self.invoice._change():
            Credit.objects.filter(pk=self.pk).delete()
