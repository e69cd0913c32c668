"""The API's own records: the first answer to each Idempotency-Key."""

import datetime as dt

from django.db import models

from arbridge.core import clock
from arbridge.core.models import PartnerOwned

# How long a key's first answer is kept and replayed.
KEPT_FOR = dt.timedelta(hours=24)


class IdempotentRequestQuerySet(models.QuerySet):
    def expired(self) -> "IdempotentRequestQuerySet":
        return self.filter(created_at__lt=clock.now() - KEPT_FOR)


class IdempotentRequest(PartnerOwned):
    """A write made with an Idempotency-Key, and the answer it got.

    `status` is None while the first request is still running. `fingerprint` is a
    hash of the method, path and body: the same key with another request is refused.
    """

    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(blank=True, default=b"")
    created_at = models.DateTimeField(default=clock.now, db_index=True)

    objects = IdempotentRequestQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "key"], name="one_request_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status or 'running'})"

    @property
    def is_expired(self) -> bool:
        return self.created_at < clock.now() - KEPT_FOR
