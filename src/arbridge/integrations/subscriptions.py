"""Callbacks a vendor makes to a connection: where they go, and keeping them subscribed.

A connector that can call back (Capabilities.subscribe) is asked to call the
connection's URL once connected; one whose subscriptions expire
(Capabilities.renews_subscriptions, Business Central's three days) is asked
again every hour by tasks.keep_subscriptions_hourly, which syncs to catch up
after a lapse.
"""

from __future__ import annotations

import logging
import secrets

import httpx
from django.conf import settings
from django.db import transaction
from django.urls import reverse

from arbridge.connectors.base import ConnectorError
from arbridge.core.models import Connection
from arbridge.integrations import registry
from arbridge.integrations.connect import build_connector, http_client

logger = logging.getLogger(__name__)


def webhook_url(connection: Connection) -> str:
    """Return where a per-connection kind's deliveries post, once the connection exists."""
    return settings.BASE_URL + reverse("connection_webhook", args=[connection.kind, connection.pk])


def subscribe(connection: Connection) -> list[str]:
    """Ask a connector that can call back (`subscribe`) to call this connection's URL."""
    if not registry.load(connection.kind).capabilities.subscribe:
        return []
    with http_client() as http:
        connector = build_connector(connection, http)
        try:
            return connector.subscribe(webhook_url(connection))
        except (ConnectorError, httpx.HTTPError) as e:
            # The scheduled pull still brings every change, only later.
            logger.warning("Callbacks of %s not registered: %s", connection, e)
            return []


def keep_subscriptions() -> list[Connection]:
    """Renew the callbacks of connectors whose subscriptions expire; catch up after a lapse.

    The first time, the connection gets a webhook secret (what the vendor sends
    back with every notification, Business Central's clientState). When the
    subscriptions differ from those held (first made, or a lapsed one made
    again), the connection is returned: a sync must read what changed while
    none was there.
    """
    lapsed = []
    for connection in Connection.objects.filter(status=Connection.Status.CONNECTED).order_by("pk"):
        try:
            capabilities = registry.load(connection.kind).capabilities
        except (ImportError, LookupError):
            continue
        if not capabilities.renews_subscriptions:
            continue
        held = keep_credentials(connection, webhook_secret=secrets.token_urlsafe(32))
        ids = subscribe(connection)
        if ids and sorted(ids) != sorted(held.get("subscriptions") or []):
            keep_credentials(connection, subscriptions=ids, replace=True)
            lapsed.append(connection)
    return lapsed


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
