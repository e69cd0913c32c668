"""HaloPSA, ConnectWise PSA and Autotask in arbridge: connecting, and their shared limits.

The connectors (arbridge.connectors.halopsa, .connectwise, .autotask) know
nothing of Django. This module gives them what only Django knows: the
connection's credentials, kept encrypted in Connection.credentials (the
webhook secrets of HaloPSA too, never in preferences), and one limiter per
kind shared by every worker (through Redis when REDIS_URL is set). A
connector keys its own requests: HaloPSA by tenant, ConnectWise by company,
Autotask by database (`rate_limit_key`), so every Autotask connection to one
database, whichever partner holds it, shares that database's 10,000
requests an hour.

Connecting is a test call with the credentials a person typed: they are
stored only once the vendor has accepted them. HaloPSA also tells its
version there, which decides what syncs in real time (`vendor_version`);
ConnectWise is then asked to call back on changes (`register_callbacks`),
its scheduled pull the fallback if it refuses.
"""

from __future__ import annotations

import hashlib
import logging
from functools import cache
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from arbridge.connectors.base import (
    Capabilities,
    Config,
    ConnectorError,
    Frequency,
    Item,
    MalformedRecord,
    parse_version,
)
from arbridge.connectors.connectwise import callbacks as connectwise_callbacks
from arbridge.connectors.halopsa import webhooks as halopsa_webhooks
from arbridge.connectors.ratelimit import InProcessLimiter, Limiter, RedisLimiter
from arbridge.integrations.connect import http_client
from arbridge.integrations.models import Connection, SyncRun, WebhookEvent
from arbridge.integrations.registry import display_name, load

logger = logging.getLogger(__name__)

KINDS = ("halopsa", "connectwise", "autotask")
# Where Autotask says which zone serves a user; a setting so the demo and tests use the sandbox.
# Reference: https://www.autotask.net/help/developerhelp/Content/APIs/REST/General_Topics/REST_Zones.htm
AUTOTASK_ZONE_HOST = "https://webservices.autotask.net"


class ConnectError(Exception):
    """The vendor did not accept the credentials; the message is for the person connecting."""


@cache
def limiter(kind: str) -> Limiter:
    """Return the one limiter of a PSA kind's limits: Redis-wide, or this process's."""
    limits = load(kind).limits
    if settings.REDIS_URL:
        return RedisLimiter(settings.REDIS_URL, limits)
    return InProcessLimiter(limits)


def config(connection: Connection) -> Config:
    credentials = dict(connection.credentials)
    base_url = credentials.get("base_url", "")
    if connection.kind == "autotask" and not base_url:
        base_url = getattr(settings, "AUTOTASK_ZONE_HOST", AUTOTASK_ZONE_HOST)
    return Config(
        base_url=base_url,
        credentials=credentials,
        preferences=connection.preferences,
        remote_account=connection.remote_account,
    )


def build_connector(connection: Connection, connector_class: type, http: httpx.Client):
    """Return a PSA connector for a connection, its requests counted by the kind's limiter."""
    return connector_class(config(connection), http, limiter=limiter(connection.kind))


def vendor_version(connection: Connection) -> str | None:
    """Return the vendor version detected when the connection was connected, if any."""
    return connection.credentials.get("version") or None


def frequency(connection: Connection, capabilities: Capabilities, item: Item) -> Frequency:
    """Return how often an item syncs for this connection's instance."""
    return capabilities.frequency(item, vendor_version(connection))


def has_real_time_webhooks(connection: Connection) -> bool:
    """Return True if the instance is recent enough for its webhooks to carry invoices."""
    minimum = load(connection.kind).capabilities.min_version_for_real_time
    version = vendor_version(connection)
    if minimum is None:
        return True
    return version is not None and parse_version(version) >= parse_version(minimum)


def connect(connection: Connection, credentials: dict[str, Any], remote_account: str) -> SyncRun:
    """Check the credentials with a test call, store them, mark connected, request a sync.

    Raises ConnectError, with nothing stored, if the vendor refuses them.
    """
    from arbridge.integrations.tasks import request_sync

    trial = Connection(
        pk=connection.pk,
        partner_id=connection.partner_id,
        kind=connection.kind,
        credentials=dict(credentials),
        preferences=connection.preferences,
        remote_account=remote_account,
    )
    name = display_name(connection.kind)
    try:
        with http_client() as http:
            found = test_call(trial, http)
    except ConnectorError as e:
        raise ConnectError(f"{name} refused these credentials: {e}") from e
    except httpx.HTTPError as e:
        raise ConnectError(f"{name} could not be reached: {e}") from e
    with transaction.atomic():
        connection.credentials = {**trial.credentials, **found.pop("credentials", {})}
        connection.remote_account = found.get("remote_account", remote_account)
        connection.status, connection.status_detail = Connection.Status.CONNECTED, ""
        connection.save()
        run = request_sync(connection, SyncRun.Trigger.INITIAL)
    if connection.kind == "connectwise":
        try:
            register_callbacks(connection)
        except (ConnectorError, httpx.HTTPError) as e:
            # The scheduled pull still brings every change, only later.
            logger.warning("ConnectWise callbacks of %s not registered: %s", connection, e)
    return run


def register_callbacks(connection: Connection) -> list[str]:
    """Have ConnectWise call back on changes; a callback already registered is kept, not added."""
    url = settings.BASE_URL + reverse("connectwise_callback", args=[connection.pk])
    with http_client() as http:
        return build_connector(connection, load("connectwise"), http).register_callbacks(url)


def test_call(connection: Connection, http: httpx.Client) -> dict[str, Any]:
    """Make the cheapest authenticated call; return what it taught us about the account."""
    connector = build_connector(connection, load(connection.kind), http)
    if connection.kind == "halopsa":
        return {"credentials": {"version": connector.detect_version()}}
    if connection.kind == "connectwise":
        # Reference: ../shared/specs/connectwise, GET /company/companies
        next(connector.client.records("company/companies", page_size=1), None)
        return {}
    # Autotask: the zone was discovered building the connector; kept so it is asked once.
    # Reference: https://www.autotask.net/help/developerhelp/Content/APIs/REST/API_Calls/REST_Basic_Query_Calls.htm
    next(connector.client.query("Companies", [{"op": "gt", "field": "id", "value": 0}]), None)
    zone = connector.zone
    return {
        "credentials": {"zone_url": zone.url, "database": zone.database},
        "remote_account": zone.database,
    }


# -- webhooks and callbacks -------------------------------------------------------


def store_delivery(
    request: HttpRequest, connection: Connection, dedupe_key: str, kept: tuple[str, ...]
) -> HttpResponse:
    """Store a verified delivery once and queue its job; answer at once."""
    from arbridge.integrations.webhooks import process_webhook

    headers = {name: request.headers[name] for name in kept if name in request.headers}
    event, created = WebhookEvent.store(
        connection.partner,
        connection.kind,
        f"{connection.pk}:{dedupe_key}",
        request.body,
        connection=connection,
        headers=headers,
    )
    if created:
        # robust: the event is stored whatever the queue says; the sweeper finds it.
        transaction.on_commit(lambda pk=event.pk: process_webhook(pk), robust=True)
    return HttpResponse(status=200)


def receiving(kind: str, connection_id: int) -> Connection | None:
    """Return the connection a delivery's URL names, if it takes deliveries."""
    return (
        Connection.objects.filter(pk=connection_id, kind=kind)
        .exclude(status=Connection.Status.DISCONNECTED)
        .select_related("partner")
        .first()
    )


@csrf_exempt
@require_POST
def halopsa_webhook(request: HttpRequest, connection_id: int) -> HttpResponse:
    """Take a HaloPSA delivery carrying the credentials configured for the connection."""
    connection = receiving("halopsa", connection_id)
    # The same answer for an unknown connection as for wrong credentials: no probing.
    if connection is None or not halopsa_webhooks.verify_webhook(
        request.headers, connection.credentials
    ):
        logger.warning("Refused a HaloPSA webhook for connection %s", connection_id)
        return HttpResponse("These credentials are not the ones configured.", status=401)
    try:
        hints = halopsa_webhooks.parse_webhook(request.body)
    except MalformedRecord:
        return HttpResponse("The body is not a HaloPSA webhook.", status=400)
    digest = hashlib.sha256("\n".join(sorted(h.event_id for h in hints)).encode()).hexdigest()
    return store_delivery(request, connection, digest, ("content-type",))


@csrf_exempt
@require_POST
def connectwise_callback(request: HttpRequest, connection_id: int) -> HttpResponse:
    """Take a ConnectWise callback signed with the connection's site's key."""
    connection = receiving("connectwise", connection_id)
    if connection is None:
        return HttpResponse("This callback is not signed by its ConnectWise.", status=401)
    with http_client() as http:
        signed = build_connector(connection, load("connectwise"), http).verify_callback(
            request.headers, request.body
        )
    if not signed:
        logger.warning("Refused a ConnectWise callback for connection %s", connection_id)
        return HttpResponse("This callback is not signed by its ConnectWise.", status=401)
    # A callback has no id of its own: the same body again is the same delivery.
    digest = hashlib.sha256(request.body).hexdigest()
    kept = ("content-type", connectwise_callbacks.SIGNATURE_HEADER)
    return store_delivery(request, connection, digest, kept)


def read_hinted(event: WebhookEvent, connector) -> list:
    """Return the records a PSA delivery names, read again; an old Halo's invoices wait."""
    body = bytes(event.body)
    if event.source == "halopsa":
        hints = [(h.entity, h.remote_id) for h in halopsa_webhooks.parse_webhook(body)]
        if not has_real_time_webhooks(event.connection):
            # seeds/halopsa.md: below 2.122.1 invoices come with the hourly pull only.
            hints = [(entity, id) for entity, id in hints if entity != "invoice"]
    else:
        hints = [(h.entity, h.remote_id) for h in connectwise_callbacks.parse_callback(body)]
    ids: dict[str, list[str]] = {}
    for entity, remote_id in hints:
        if remote_id not in ids.setdefault(entity, []):
            ids[entity].append(remote_id)
    return [change for entity, wanted in ids.items() for change in connector.fetch(entity, wanted)]
