"""Deposits: processor payouts as they reached the bank, line by line."""

from decimal import Decimal

from django.db import models
from django.db.models import Sum

from arbridge.core import clock
from arbridge.core.models import PartnerOwned
from arbridge.core.money import ZERO, money_field, quantize
from arbridge.ledger.models.payments import Payment


class Deposit(PartnerOwned):
    """A processor payout: the payments in it, less fees, as it reached the bank."""

    amount = money_field(help_text="The payout: what reached the bank.")
    currency = models.CharField(max_length=3, default="USD")
    date = models.DateField(default=clock.today)
    processor_reference = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"Deposit {self.processor_reference or self.pk} {self.amount} {self.currency}"

    def lines_total(self) -> Decimal:
        return quantize(self.lines.aggregate(s=Sum("amount"))["s"] or ZERO, self.currency)

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

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"
