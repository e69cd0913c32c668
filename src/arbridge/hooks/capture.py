"""Turn what changed into events, by reading each stream since its cursor.

Invoices and payments change in many places (a sync batch, a processor
event, a person in the dashboard), often in bulk; rather than hooking each,
the capture reads what changed since it last looked, as the dashboard
would. Each thing that happened has a key ("invoice.paid:42") that is unique
per partner, so reading a row twice makes one event: the capture reads back
an OVERLAP before its cursor, so a transaction that committed late with an
earlier `updated_at` is still seen. Nothing before the partner's first
endpoint becomes an event, and an endpoint that is turned off is owed
nothing of what happens while it is off.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import NamedTuple

from django.db import transaction
from django.db.models import Q, Sum

from arbridge.core import clock
from arbridge.hooks.models import Cursor, Delivery, Endpoint, Event
from arbridge.integrations.models import ExceptionItem, SyncRun
from arbridge.ledger.models import Deposit, DepositLine, Invoice, Payment

# How far back each capture reads again: longer than any sync batch's transaction.
OVERLAP = dt.timedelta(minutes=15)
# Rows read per stream and capture; what is left is read the next time.
BATCH = 2000


class Happened(NamedTuple):
    key: str
    type: str
    data: dict
    at: dt.datetime  # when it changed: the event's created time


def money(amount) -> str:
    return f"{amount:.2f}"


def invoice_data(invoice: Invoice) -> dict:
    return {
        "object": "invoice",
        "id": invoice.pk,
        "number": invoice.number,
        "customer": {"id": invoice.customer_id, "name": invoice.customer.name},
        "currency": invoice.currency,
        "total": money(invoice.total),
        "balance": money(invoice.balance),
        "status": invoice.status,
        "issue_date": invoice.issue_date.isoformat() if invoice.issue_date else None,
        "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
        "archived": invoice.archived,
    }


def invoices(partner_id: int, since: dt.datetime) -> Iterator[Happened]:
    rows = (
        Invoice.objects.for_partner(partner_id)
        .filter(updated_at__gte=since)
        .select_related("customer")
        .order_by("updated_at", "pk")[:BATCH]
    )
    for invoice in rows:
        data = invoice_data(invoice)
        yield Happened(f"invoice.created:{invoice.pk}", "invoice.created", data, invoice.created_at)
        if invoice.updated_at > invoice.created_at:
            key = f"invoice.updated:{invoice.pk}:{invoice.updated_at.isoformat()}"
            yield Happened(key, "invoice.updated", data, invoice.updated_at)
        if invoice.status == Invoice.Status.PAID:
            yield Happened(f"invoice.paid:{invoice.pk}", "invoice.paid", data, invoice.updated_at)
        if invoice.archived:
            at = invoice.archived_at or invoice.updated_at
            yield Happened(f"invoice.archived:{invoice.pk}", "invoice.archived", data, at)


PAYMENT_EVENTS = {
    Payment.Status.SUCCEEDED: "payment.succeeded",
    Payment.Status.FAILED: "payment.failed",
    Payment.Status.REFUNDED: "payment.refunded",
    Payment.Status.RETURNED: "payment.returned",
}


def payments(partner_id: int, since: dt.datetime) -> Iterator[Happened]:
    rows = (
        Payment.objects.for_partner(partner_id)
        .filter(updated_at__gte=since, status__in=PAYMENT_EVENTS)
        .prefetch_related("allocations__invoice")
        .order_by("updated_at", "pk")[:BATCH]
    )
    for payment in rows:
        event = PAYMENT_EVENTS[payment.status]
        data = {
            "object": "payment",
            "id": payment.pk,
            "amount": money(payment.amount),
            "currency": payment.currency,
            "status": payment.status,
            "method": payment.method,
            "origin": payment.origin,
            "date": payment.date.isoformat(),
            "customer": payment.customer_id,
            "invoices": [
                {"id": a.invoice_id, "number": a.invoice.number, "amount": money(a.amount)}
                for a in payment.allocations.all()
            ],
        }
        yield Happened(f"{event}:{payment.pk}", event, data, payment.updated_at)


def deposits(partner_id: int, since: dt.datetime) -> Iterator[Happened]:
    rows = (
        Deposit.objects.for_partner(partner_id)
        .filter(created_at__gte=since)
        .annotate(fees=Sum("lines__amount", filter=Q(lines__kind=DepositLine.Kind.FEE)))
        .order_by("created_at", "pk")[:BATCH]
    )
    for deposit in rows:
        data = {
            "object": "deposit",
            "id": deposit.pk,
            "amount": money(deposit.amount),
            "fees": money(-(deposit.fees or 0)),
            "currency": deposit.currency,
            "date": deposit.date.isoformat(),
            "processor_reference": deposit.processor_reference,
        }
        yield Happened(
            f"deposit.recorded:{deposit.pk}", "deposit.recorded", data, deposit.created_at
        )


def exceptions(partner_id: int, since: dt.datetime) -> Iterator[Happened]:
    rows = (
        ExceptionItem.objects.for_partner(partner_id)
        .filter(created_at__gte=since)
        .order_by("created_at", "pk")[:BATCH]
    )
    for item in rows:
        data = {
            "object": "exception",
            "id": item.pk,
            "kind": item.kind,
            "title": item.title,
            "reason": item.reason,
            "connection": item.connection_id,
        }
        yield Happened(f"exception.opened:{item.pk}", "exception.opened", data, item.created_at)


def sync_failures(partner_id: int, since: dt.datetime) -> Iterator[Happened]:
    rows = (
        SyncRun.objects.for_partner(partner_id)
        .filter(status=SyncRun.Status.FAILED, finished_at__gte=since)
        .select_related("connection")
        .order_by("finished_at", "pk")[:BATCH]
    )
    for run in rows:
        data = {
            "object": "sync_run",
            "id": run.pk,
            "connection": {"id": run.connection_id, "name": str(run.connection)},
            "error": run.error_message,
        }
        yield Happened(f"sync.failed:{run.pk}", "sync.failed", data, run.finished_at)


STREAMS: dict[str, Callable[[int, dt.datetime], Iterator[Happened]]] = {
    "invoices": invoices,
    "payments": payments,
    "deposits": deposits,
    "exceptions": exceptions,
    "sync": sync_failures,
}


def capture(partner_id: int) -> int:
    """Record the partner's new events and their deliveries; return how many events are new."""
    endpoints = list(Endpoint.objects.for_partner(partner_id))
    if not endpoints:
        return 0
    now = clock.now()
    new = 0
    for stream, scan in STREAMS.items():
        cursor, _ = Cursor.objects.get_or_create(
            partner_id=partner_id,
            stream=stream,
            defaults={"started_at": now, "value": now},
        )
        since = max(cursor.started_at, cursor.value - OVERLAP)
        happened = [h for h in scan(partner_id, since) if h.at >= cursor.started_at]
        with transaction.atomic():
            new += record(partner_id, happened, endpoints)
            Cursor.objects.filter(pk=cursor.pk).update(value=now)
    return new


def record(partner_id: int, happened: list[Happened], endpoints: list[Endpoint]) -> int:
    """Write the events not written before, and one delivery per endpoint that wants each."""
    if not happened:
        return 0
    keys = [h.key for h in happened]
    seen = set(
        Event.objects.for_partner(partner_id).filter(key__in=keys).values_list("key", flat=True)
    )
    fresh = {h.key: h for h in happened if h.key not in seen}
    if not fresh:
        return 0
    Event.objects.bulk_create(
        [
            Event(partner_id=partner_id, key=h.key, type=h.type, data=h.data, created_at=h.at)
            for h in fresh.values()
        ],
        ignore_conflicts=True,  # a capture running beside this one wrote it first
    )
    events = Event.objects.for_partner(partner_id).filter(key__in=list(fresh))
    Delivery.objects.bulk_create(
        [
            Delivery(partner_id=partner_id, event=event, endpoint=endpoint)
            for event in events
            for endpoint in endpoints
            # A turned-off endpoint misses what happens meanwhile; a person may replay it.
            if endpoint.is_active and event.type in endpoint.events
        ],
        ignore_conflicts=True,
    )
    return len(fresh)
