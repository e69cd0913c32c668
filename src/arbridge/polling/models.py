"""The sessions of connections whose vendor polls arbridge (connectors/polled.py).

A session is one run of the vendor's program (the QuickBooks Web Connector's
scheduled poll): opened when it authenticates, its work state saved after
every call, ended when it closes (or never, when the PC went away mid-way:
the next session starts afresh from the connection's cursor and owed writes).
"""

import hashlib

from django.db import models

from arbridge.core import clock
from arbridge.core.models import Connection, PartnerOwned
from arbridge.integrations.models import SyncRun


def ticket_digest(ticket: str) -> str:
    """Return what is stored of a ticket: the vendor's program holds the ticket itself."""
    return hashlib.sha256(ticket.encode()).hexdigest()


class PollSession(PartnerOwned):
    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="poll_sessions"
    )
    ticket_digest = models.CharField(max_length=64, unique=True)
    state = models.JSONField(default=dict, blank=True)
    run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=clock.now)
    last_call_at = models.DateTimeField(default=clock.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    calls = models.PositiveIntegerField(default=0)
    writes = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["connection", "-started_at"])]
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.connection} session {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None
