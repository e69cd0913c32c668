"""Portal links: how a customer reaches the portal without an account.

A link is a row (so the partner can revoke it) whose id travels signed in the
URL, so ids cannot be guessed or walked. A partner makes long-lived links for
a customer in the dashboard; a customer who asks at the partner's billing link
gets a short-lived one by email (`emailed_to` set).
"""

import datetime as dt

from django.conf import settings
from django.core import signing
from django.db import models
from django.urls import reverse

from arbridge.core import clock
from arbridge.core.models import PartnerOwned
from arbridge.ledger.models import Customer

SALT = "arbridge.portal.link"
# A link made in the dashboard lasts this long unless the partner says otherwise.
DEFAULT_LINK_DAYS = 90
# A link sent to a billing contact who asked for one.
SIGN_IN_LINK_MINUTES = 30


class PortalLink(PartnerOwned):
    """An expiring, revocable way in to the portal for one customer."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="portal_links")
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    emailed_to = models.EmailField(
        blank=True, help_text="The address that asked for it at the billing link."
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [models.Index(fields=["emailed_to", "created_at"])]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Portal link {self.pk} for {self.customer}"

    @classmethod
    def issue(cls, customer: Customer, *, created_by=None, days: int = DEFAULT_LINK_DAYS):
        """Make a link for the partner to hand to the customer."""
        now = clock.now()
        return cls.objects.create(
            partner_id=customer.partner_id,
            customer=customer,
            created_by=created_by,
            created_at=now,
            expires_at=now + dt.timedelta(days=days),
        )

    @classmethod
    def issue_sign_in(cls, customer: Customer, email: str) -> "PortalLink":
        """Make a short-lived link for a billing contact who asked for one."""
        return cls.objects.create(
            partner_id=customer.partner_id,
            customer=customer,
            emailed_to=email,
            expires_at=clock.now() + dt.timedelta(minutes=SIGN_IN_LINK_MINUTES),
        )

    @classmethod
    def from_token(cls, token: str) -> "PortalLink | None":
        """Return the link a signed token names, or None for a forged or garbled one."""
        try:
            pk = signing.Signer(salt=SALT).unsign(token)
        except signing.BadSignature:
            return None
        return cls.objects.select_related("customer", "partner").filter(pk=pk).first()

    @property
    def token(self) -> str:
        return signing.Signer(salt=SALT).sign(str(self.pk))

    def get_absolute_url(self) -> str:
        return reverse("portal:open_link", args=[self.token])

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= clock.now()

    @property
    def is_usable(self) -> bool:
        return not self.is_revoked and not self.is_expired

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = clock.now()
            self.save(update_fields=["revoked_at"])
