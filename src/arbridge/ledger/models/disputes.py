"""Disputes: a customer contests an invoice, and nobody chases or charges it meanwhile."""

from django.conf import settings
from django.db import models

from arbridge.core import clock
from arbridge.core.models import PartnerOwned
from arbridge.ledger.models.invoices import Invoice


class Dispute(PartnerOwned):
    """A customer contests an invoice: no reminders and no auto pay charge while it is open."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField(blank=True)
    opened_at = models.DateTimeField(default=clock.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["partner", "resolved_at"])]
