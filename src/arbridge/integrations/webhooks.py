"""Vendor webhooks: verified, stored once, answered at once; a job applies what they hint at.

One view for every kind, by the connector's Capabilities.webhooks:

    POST /webhooks/<kind>                   app-wide (QuickBooks Online, Xero): one URL for
                                            every account, verified with the app's webhook key
                                            (ARBRIDGE_<KIND>_WEBHOOK_KEY); hints name the account
    POST /webhooks/<kind>/<connection id>   per connection (HaloPSA, ConnectWise): verified
                                            with what the connection holds

These are the URLs partners and vendors were already given. A delivery that
does not verify is refused with 401 and leaves nothing behind; one that
verifies and hints at nothing (Xero's intent to receive) is answered 200 and
leaves nothing either. A good one is stored as one WebhookEvent per
connection it concerns, keyed by its hints (by its body when they carry no
event id), so a redelivery is not stored again. The answer goes out before
any call to the vendor; the job, integrations.tasks.process_webhook, applies it.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Sequence

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from arbridge.connectors.base import Delivery, Hint, MalformedRecord, WebhookRequest
from arbridge.core.models import Connection
from arbridge.integrations import registry
from arbridge.integrations.connect import build_connector, http_client
from arbridge.integrations.models import WebhookEvent
from arbridge.integrations.subscriptions import keep_credentials
from arbridge.integrations.tasks import process_webhook
from arbridge.integrations.vendors import vendor_app

logger = logging.getLogger(__name__)


def arrived(request: HttpRequest) -> WebhookRequest:
    headers = {name.lower(): value for name, value in request.headers.items()}
    return WebhookRequest(headers=headers, body=request.body, query=dict(request.GET.items()))


def receiving_kind(kind: str, scope: str):
    """Return the connector class of a kind taking webhooks of this scope; 404 otherwise."""
    try:
        connector_class = registry.load(kind)
    except (ImportError, LookupError):
        raise Http404("No such webhook.") from None
    if connector_class.capabilities.webhooks != scope:
        raise Http404("No such webhook.")
    return connector_class


@csrf_exempt
@require_POST
def app_webhook(request: HttpRequest, kind: str) -> HttpResponse:
    """Take a delivery for every account of a kind: verify, store once per connection, answer."""
    connector_class = receiving_kind(kind, "app")
    try:
        delivery = connector_class.receive(arrived(request), vendor_app(kind).webhook_key)
    except MalformedRecord as e:
        logger.warning("A signed %s webhook could not be read: %s", kind, e)
        return HttpResponse(str(e), status=400)
    if not delivery.accepted:
        logger.warning("Refused a %s webhook whose signature does not verify", kind)
        return HttpResponse(delivery.reason, status=401)
    by_account: dict[str, list[Hint]] = defaultdict(list)
    for hint in delivery.hints:
        by_account[hint.account].append(hint)
    connections = (
        Connection.objects.filter(kind=kind, remote_account__in=list(by_account))
        .exclude(status=Connection.Status.DISCONNECTED)
        .select_related("partner")
    )
    known = set()
    for connection in connections:
        known.add(connection.remote_account)
        store(request, connection, delivery, by_account[connection.remote_account])
    if unknown := set(by_account) - known:
        logger.info("Ignored %s webhook hints for accounts %s", kind, sorted(unknown))
    return HttpResponse(status=200)


@csrf_exempt
@require_POST
def connection_webhook(request: HttpRequest, kind: str, connection_id: int) -> HttpResponse:
    """Take a delivery to one connection's URL, verified with what that connection holds."""
    receiving_kind(kind, "connection")
    connection = (
        Connection.objects.filter(pk=connection_id, kind=kind)
        .exclude(status=Connection.Status.DISCONNECTED)
        .select_related("partner")
        .first()
    )
    # The same answer for an unknown connection as for a forged delivery: no probing.
    refused = "This delivery is not from the system this connection is for."
    if connection is None:
        return HttpResponse(refused, status=401)
    try:
        with http_client() as http:
            delivery = build_connector(connection, http).receive(arrived(request))
    except MalformedRecord as e:
        return HttpResponse(str(e), status=400)
    if not delivery.accepted:
        logger.warning("Refused a %s webhook for connection %s", kind, connection_id)
        return HttpResponse(delivery.reason or refused, status=401)
    if delivery.credentials:
        keep_credentials(connection, replace=True, **delivery.credentials)
    store(request, connection, delivery, delivery.hints)
    return HttpResponse(delivery.answer, status=200, content_type="text/plain")


def store(
    request: HttpRequest, connection: Connection, delivery: Delivery, hints: Sequence[Hint]
) -> WebhookEvent | None:
    """Store a verified delivery's hints for a connection once, and queue their job."""
    if not hints:
        return None
    headers = {
        name: request.headers[name] for name in delivery.kept_headers if name in request.headers
    }
    event, created = WebhookEvent.store(
        connection.partner,
        connection.kind,
        dedupe_key(connection, hints, request.body),
        request.body,
        connection=connection,
        headers=headers,
    )
    if created:
        # robust: the event is stored whatever the queue says; the sweeper finds it.
        transaction.on_commit(lambda pk=event.pk: process_webhook(pk), robust=True)
    return event


def dedupe_key(connection: Connection, hints: Sequence[Hint], body: bytes) -> str:
    """Return the same key for every delivery of these changes to this connection."""
    if all(hint.event_id for hint in hints):
        text = "\n".join(sorted(hint.event_id for hint in hints)).encode()
    else:
        text = body  # no id of its own: the same body again is the same delivery
    return f"{connection.pk}:{hashlib.sha256(text).hexdigest()}"
