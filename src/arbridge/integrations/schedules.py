"""What runs on the clock: syncs that come due, and owed work nothing else triggers.

A connection syncs as often as its connector's most frequent item asks
(Capabilities.frequencies): hourly items every hour, daily ones every day. A
real-time item arrives by webhook, and still gets a daily sync, which for
QuickBooks Online is the CDC sweep that catches whatever a webhook missed.
The periodic tasks here run on the consumer started with periodic tasks on
(`arbridge worker`, one per installation).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from django.db import transaction
from django.db.models import Max
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from arbridge.connectors.base import Capabilities, Frequency, Item
from arbridge.core import clock
from arbridge.integrations import credentials, registry, tasks, writeback
from arbridge.integrations.models import Connection, SyncRun, WebhookEvent
from arbridge.integrations.tasks import SWEEP_BATCH, SWEEP_GRACE, request_sync

logger = logging.getLogger(__name__)

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


def request_due_syncs() -> list[SyncRun]:
    """Request a sync of every connected connection whose interval has passed since its last."""
    now = clock.now()
    runs = []
    connections = Connection.objects.filter(status=Connection.Status.CONNECTED).annotate(
        last_queued_at=Max("sync_runs__queued_at")
    )
    for connection in connections.order_by("pk"):
        try:
            capabilities = registry.load(connection.kind).capabilities
        except (ImportError, LookupError):
            continue  # no connector to sync it with yet; a run would only fail
        # An old HaloPSA's webhooks miss invoices: they are pulled hourly instead.
        interval = sync_interval(capabilities, connection.credentials.get("version"))
        if interval is None:
            continue
        if connection.last_queued_at is None or now - connection.last_queued_at >= interval:
            runs.append(request_sync(connection, SyncRun.Trigger.SCHEDULE))
    return runs


def sweep_webhook_events() -> int:
    """Process again the stored deliveries whose job was lost; return how many."""
    stale = WebhookEvent.objects.filter(
        status=WebhookEvent.Status.RECEIVED,
        connection__isnull=False,
        received_at__lte=clock.now() - SWEEP_GRACE,
    )
    ids = list(stale.order_by("pk").values_list("pk", flat=True)[:SWEEP_BATCH])
    for event_id in ids:
        tasks.process_webhook(event_id)
    return len(ids)


@db_periodic_task(crontab(minute="*/5"))
def sync_when_due() -> None:
    """Request the syncs that have come due, every five minutes."""
    if runs := request_due_syncs():
        logger.info("Requested %d scheduled syncs", len(runs))


@db_periodic_task(crontab(minute="*"))
def catch_up() -> None:
    """Every minute: owe the writes that waited for others, and re-run lost webhook jobs."""
    writeback.owe_reversals()
    writeback.owe_deposits()
    sweep_webhook_events()


def keep_subscriptions() -> list[SyncRun]:
    """Renew the callbacks of connectors whose subscriptions expire; catch up after a lapse.

    The first time, the connection gets a webhook secret (what the vendor sends
    back with every notification, Business Central's clientState). When the
    subscriptions differ from those held (first made, or a lapsed one made
    again), a sync reads what changed while none was there.
    """
    runs = []
    for connection in Connection.objects.filter(status=Connection.Status.CONNECTED).order_by("pk"):
        try:
            capabilities = registry.load(connection.kind).capabilities
        except (ImportError, LookupError):
            continue
        if not capabilities.renews_subscriptions:
            continue
        held = keep_credentials(connection, webhook_secret=secrets.token_urlsafe(32))
        ids = credentials.subscribe(connection)
        if ids and sorted(ids) != sorted(held.get("subscriptions") or []):
            keep_credentials(connection, subscriptions=ids, replace=True)
            runs.append(request_sync(connection, SyncRun.Trigger.SCHEDULE))
    return runs


def keep_credentials(connection: Connection, *, replace: bool = False, **values) -> dict:
    """Add values to a connection's credentials (replacing them only if asked); return them."""
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        wanted = (
            values if replace else {k: v for k, v in values.items() if k not in locked.credentials}
        )
        if wanted:
            locked.credentials = {**locked.credentials, **wanted}
            locked.save(update_fields=["credentials"])
    connection.credentials = locked.credentials
    return locked.credentials


@db_periodic_task(crontab(minute="23"))
def keep_subscriptions_hourly() -> None:
    """Every hour: renew expiring subscriptions, make lapsed ones again and catch up."""
    if runs := keep_subscriptions():
        logger.info("Subscriptions made again for %d connections; catching up", len(runs))
