"""What runs on the clock: syncs that come due, and owed work nothing else triggers.

A connection syncs as often as its connector's most frequent item asks
(Capabilities.frequencies): hourly items every hour, daily ones every day. A
real-time item arrives by webhook, and still gets a daily sync, which for
QuickBooks Online is the CDC sweep that catches whatever a webhook missed.
The periodic task that requests them (tasks.sync_when_due) runs on the
consumer started with periodic tasks on (`arbridge worker`, one per installation).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Max

from arbridge.connectors.base import Capabilities, Frequency, Item
from arbridge.core import clock
from arbridge.core.models import Connection
from arbridge.integrations import registry

INTERVALS = {
    Frequency.HOURLY: dt.timedelta(hours=1),
    Frequency.DAILY: dt.timedelta(days=1),
    # Webhooks carry real-time items; the daily sync is their safety net.
    Frequency.REAL_TIME: dt.timedelta(days=1),
}


def sync_interval(
    capabilities: Capabilities, vendor_version: str | None = None
) -> dt.timedelta | None:
    """Return how often a connection of a vendor's version syncs on schedule; None: never."""
    frequencies = {capabilities.frequency(item, vendor_version) for item in Item}
    return min((INTERVALS[f] for f in frequencies if f in INTERVALS), default=None)


def due_connections() -> list[Connection]:
    """Return every connected connection whose sync interval has passed since its last run."""
    now = clock.now()
    due = []
    connections = Connection.objects.filter(status=Connection.Status.CONNECTED).annotate(
        last_queued_at=Max("sync_runs__queued_at")
    )
    for connection in connections.order_by("pk"):
        try:
            capabilities = registry.load(connection.kind).capabilities
        except (ImportError, LookupError):
            continue  # no connector to sync it with yet; a run would only fail
        if capabilities.polled:
            continue  # read in its vendor's sessions (connectors/polled.py)
        # An old HaloPSA's webhooks miss invoices: they are pulled hourly instead.
        interval = sync_interval(capabilities, connection.credentials.get("version"))
        if interval is None:
            continue
        if connection.last_queued_at is None or now - connection.last_queued_at >= interval:
            due.append(connection)
    return due
