"""Endpoints a partner registers, the events that happened, and their deliveries.

The database is the record, as for the outbox: an Event is written once per
thing that happened (its `key` is unique per partner), a Delivery once per
event and endpoint, and every attempt is kept with its status code and
timing. A lost job loses nothing: the periodic job finds what is due.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

from django.db import models

from arbridge.core import clock
from arbridge.core.crypto import EncryptedJSONField
from arbridge.core.models import PartnerOwned

# What a partner can subscribe to: type -> what it means, as the dashboard shows it.
EVENT_TYPES: dict[str, str] = {
    "invoice.created": "An invoice arrived from a connected system or was created.",
    "invoice.updated": "An invoice changed: its total, balance, status or due date.",
    "invoice.paid": "An invoice was paid in full.",
    "invoice.archived": "An invoice was voided or deleted in its source, and archived.",
    "payment.succeeded": "A payment succeeded (card, ACH settled, or recorded in a source).",
    "payment.failed": "A payment failed or was declined.",
    "payment.refunded": "A payment was refunded.",
    "payment.returned": "An ACH payment was returned by the bank.",
    "deposit.recorded": "A processor payout was recorded as a deposit.",
    "sync.failed": "A sync of a connection failed.",
    "exception.opened": "Something needs a person: an exception was opened.",
}
# An endpoint that has failed for this long is disabled, and its partner told.
DISABLE_AFTER = dt.timedelta(days=3)
# A delivery is retried for this long after its event, then given up.
RETRY_FOR = dt.timedelta(days=3)
# A rotated secret keeps signing beside the new one for this long, by default.
DEFAULT_OVERLAP = dt.timedelta(hours=24)


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def event_id() -> str:
    """Return a new event's public id: what a receiver deduplicates by."""
    return "evt_" + uuid.uuid4().hex


class Endpoint(PartnerOwned):
    class Status(models.TextChoices):
        ACTIVE = "active"
        DISABLED = "disabled"

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="The event types it receives.")
    # {"current": ..., "previous": ..., "previous_until": ISO time}: encrypted at rest.
    secrets = EncryptedJSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    status_detail = models.CharField(max_length=300, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def secret(self) -> str:
        return self.secrets["current"]

    def signing_secrets(self, now: dt.datetime | None = None) -> list[str]:
        """Return the secrets deliveries are signed with now: the current one, and the previous
        one until its overlap ends."""
        now = now or clock.now()
        found = [self.secrets["current"]]
        until = self.secrets.get("previous_until")
        if self.secrets.get("previous") and until and now < dt.datetime.fromisoformat(until):
            found.append(self.secrets["previous"])
        return found

    def rotate(self, overlap: dt.timedelta = DEFAULT_OVERLAP) -> str:
        """Give the endpoint a new secret, signing with the old one too for `overlap`."""
        fresh = new_secret()
        self.secrets = {
            "current": fresh,
            "previous": self.secrets.get("current", ""),
            "previous_until": (clock.now() + overlap).isoformat(),
        }
        self.save(update_fields=["secrets"])
        return fresh


class Event(PartnerOwned):
    """Something that happened, once: what every subscribed endpoint is sent."""

    public_id = models.CharField(max_length=40, unique=True, editable=False, default=event_id)
    # What makes it this event and no other, e.g. "invoice.paid:42": written once.
    key = models.CharField(max_length=160)
    type = models.CharField(max_length=40)
    data = models.JSONField()
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "key"], name="one_hook_event_per_key")
        ]
        indexes = [models.Index(fields=["partner", "created_at"])]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"

    def body(self) -> dict:
        """Return what is posted: the same bytes for every attempt and every endpoint."""
        return {
            "id": self.public_id,
            "type": self.type,
            "created": self.created_at.isoformat(),
            "data": self.data,
        }


class Delivery(PartnerOwned):
    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed", "Given up"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=clock.now)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="one_delivery_per_endpoint")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.event} -> {self.endpoint} ({self.status})"


class Attempt(PartnerOwned):
    """One POST of a delivery: what the endpoint answered, and how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(default=clock.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    replay = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at", "-id"]


class Cursor(PartnerOwned):
    """How far a partner's changes have been turned into events, per stream."""

    stream = models.CharField(max_length=20)
    # Nothing before this is an event: when the partner's first endpoint was registered.
    started_at = models.DateTimeField()
    # Changes up to here have been read (less an overlap for late commits, capture.py).
    value = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "stream"], name="one_hooks_cursor_per_stream"
            )
        ]
