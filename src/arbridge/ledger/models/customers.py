"""Customers, and the people at them who receive invoices."""

from typing import TYPE_CHECKING

from django.db import models

from arbridge.core import clock
from arbridge.core.models import PartnerOwned, PartnerQuerySet

if TYPE_CHECKING:
    from arbridge.core.models import Connection


class CustomerQuerySet(PartnerQuerySet):
    def unknown_for_connection(self, connection: "Connection") -> "Customer":
        """Return the connection's customer for invoices that arrive without one."""
        customer, _ = self.get_or_create(
            unknown_for=connection,
            defaults={"partner_id": connection.partner_id, "name": "Unknown"},
        )
        return customer


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
        "core.Connection",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    source_deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="When the source reported it deleted."
    )
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now, db_index=True)

    objects = CustomerQuerySet.as_manager()

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
