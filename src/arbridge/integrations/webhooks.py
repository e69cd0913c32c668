"""Vendor webhooks: verified, stored once, answered at once; a job applies what they hint at.

POST /webhooks/qbo is one endpoint for every QuickBooks company, as Intuit
sends them. A delivery whose `intuit-signature` does not verify is refused
with 401 and leaves nothing behind. A good one is stored as one WebhookEvent
per connection it concerns, keyed by its hints, so a redelivery is not stored
again; companies no connection knows are acknowledged and ignored. The answer
goes out before any call to QuickBooks: Intuit wants it within 3 seconds.

The job, `process_webhook`, treats the hints as reasons to look: it reads the
objects again (`connector.fetch`) and applies them with the sync engine,
which keeps whichever version is newest, so deliveries repeated or out of
order have one effect. If that fails, a sync of the connection (by CDC)
catches up instead.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from huey.contrib.djhuey import db_task

from arbridge.connectors.qbo.webhooks import Hint, parse_notifications, verify_signature
from arbridge.integrations import qbo
from arbridge.integrations.connect import build_connector, http_client
from arbridge.integrations.models import Connection, ExternalRef, SyncRun, WebhookEvent
from arbridge.ledger.models import PaymentAllocation

logger = logging.getLogger(__name__)

# The request headers worth keeping with the body, for a person looking at an event.
KEPT_HEADERS = ("content-type", "intuit-signature", "intuit-t-id", "intuit-created-time")


@csrf_exempt
@require_POST
def quickbooks(request: HttpRequest) -> HttpResponse:
    """Take a QuickBooks Online delivery: verify it, store it once per connection, answer."""
    body = request.body
    signature = request.headers.get("intuit-signature", "")
    if not verify_signature(body, signature, qbo.app().verifier_token):
        logger.warning("Refused a QuickBooks webhook whose signature does not verify")
        return HttpResponse("The intuit-signature does not verify.", status=401)
    try:
        hints = parse_notifications(body)
    except (ValueError, KeyError, TypeError, AttributeError):
        logger.exception("A signed QuickBooks webhook could not be read")
        return HttpResponse("The body is not a QuickBooks notification.", status=400)

    by_realm: dict[str, list[Hint]] = defaultdict(list)
    for hint in hints:
        by_realm[hint.realm].append(hint)
    connections = Connection.objects.filter(kind=qbo.KIND, remote_account__in=list(by_realm))
    known = set()
    headers = {name: request.headers[name] for name in KEPT_HEADERS if name in request.headers}
    for connection in connections.exclude(status=Connection.Status.DISCONNECTED):
        known.add(connection.remote_account)
        event, created = WebhookEvent.store(
            connection.partner,
            qbo.KIND,
            dedupe_key(connection, by_realm[connection.remote_account]),
            body,
            connection=connection,
            headers=headers,
        )
        if created:
            # robust: the event is stored whatever the queue says; the sweeper finds it.
            transaction.on_commit(lambda pk=event.pk: process_webhook(pk), robust=True)
    if unknown := set(by_realm) - known:
        logger.info("Ignored QuickBooks webhook hints for companies %s", sorted(unknown))
    return HttpResponse(status=200)


def dedupe_key(connection: Connection, hints: list[Hint]) -> str:
    """Return the same key for every delivery of these changes to this connection."""
    digest = hashlib.sha256("\n".join(sorted(h.event_id for h in hints)).encode()).hexdigest()
    return f"{connection.pk}:{digest}"


@db_task()
def process_webhook(event_id: int) -> None:
    """Read again and apply what a stored delivery says changed."""
    process(event_id)


def process(event_id: int) -> WebhookEvent | None:
    """Apply an event's hints unless that was done; return the event, or None if there is none."""
    event = WebhookEvent.objects.select_related("connection").filter(pk=event_id).first()
    if event is None or event.status == WebhookEvent.Status.PROCESSED:
        return event
    connection = event.connection
    if connection is None or not connection.is_active:
        event.finish(WebhookEvent.Status.PROCESSED, "Ignored: the connection is not connected.")
        return event
    try:
        with http_client() as http:
            connector = build_connector(connection, http)
            changes = read_hinted(event, connector)
        # Imported here, as tasks.py does: a broken engine fails the job, not the worker.
        from arbridge.integrations.sync import apply_changes

        with transaction.atomic():
            apply_changes(connection, changes, connector.capabilities)
            event.finish(WebhookEvent.Status.PROCESSED)
    except Exception as e:
        logger.exception("Webhook event %s could not be applied; syncing instead", event.pk)
        from arbridge.integrations.tasks import request_sync

        with transaction.atomic():
            event.finish(WebhookEvent.Status.FAILED, f"{type(e).__name__}: {e}")
            # The daily sweep would find the change too; a sync now finds it sooner.
            request_sync(connection, SyncRun.Trigger.WEBHOOK)
    return event


def read_hinted(event: WebhookEvent, connector) -> list:
    """Return the records an event's hints name, read again from its source."""
    if event.source != qbo.KIND:
        # Imported here: psa.py builds on this module.
        from arbridge.integrations import psa

        return psa.read_hinted(event, connector)
    connection = event.connection
    ids: dict[str, list[str]] = defaultdict(list)
    for hint in parse_notifications(bytes(event.body)):
        if hint.realm == connection.remote_account and hint.id not in ids[hint.entity]:
            ids[hint.entity].append(hint.id)
    changes = [change for entity in ids for change in connector.fetch(entity, ids[entity])]
    # A payment moves the balances of the invoices it applies money or credit
    # to, or applied before it changed; QuickBooks need not send hints for them.
    fetched = ids.get("Invoice", [])
    moved = [id for id in moved_invoices(connection, changes) if id not in fetched]
    if moved:
        changes += connector.fetch("Invoice", moved)
    return changes


def moved_invoices(connection: Connection, changes: list) -> list[str]:
    """Return the invoices whose balance the fetched payments' changes move.

    Those the payment is linked to in QuickBooks now, and those arbridge holds
    it applied to (all of them, for a payment deleted there).
    """
    ids: dict[str, None] = {}
    payments = [change for change in changes if change.entity == "payment"]
    if not payments:
        return []
    for change in payments:
        raw = change.raw if isinstance(change.raw, dict) else {}
        for line in raw.get("Line") or []:
            for txn in line.get("LinkedTxn") or []:
                if txn.get("TxnType") == "Invoice":
                    ids[str(txn["TxnId"])] = None
    held = ExternalRef.objects.filter(
        connection=connection, entity=ExternalRef.Entity.PAYMENT
    ).filter(remote_id__in=[change.remote_id for change in payments])
    paid = PaymentAllocation.objects.filter(payment_id__in=held.values("local_id")).values(
        "invoice_id"
    )
    for remote_id in ExternalRef.objects.filter(
        connection=connection, entity=ExternalRef.Entity.INVOICE, local_id__in=paid
    ).values_list("remote_id", flat=True):
        ids[remote_id] = None
    return list(ids)
