"""What a stored delivery hints at, read again from its source.

A hint is a reason to look, never the record: the connector reads the
records again (`fetch`) and the sync engine keeps whichever version is
newest, so deliveries repeated or out of order have one effect. A payment
also moves the balances of the invoices it pays, or paid before it changed,
and a vendor need not hint at those: they are read again too.
"""

from __future__ import annotations

from arbridge.connectors.base import Change, Op, PaymentRecord
from arbridge.integrations.models import ExternalRef, WebhookEvent
from arbridge.ledger.models import PaymentAllocation


def read_hinted(event: WebhookEvent, connector) -> list:
    """Return the records an event's hints name for its connection, read again."""
    ids: dict[str, list[str]] = {}
    for hint in connector.hints(bytes(event.body)):
        if hint.remote_id not in ids.setdefault(hint.entity, []):
            ids[hint.entity].append(hint.remote_id)
    changes = [
        change for entity, wanted in ids.items() for change in connector.fetch(entity, wanted)
    ]
    fetched = ids.get("invoice", [])
    moved = [id for id in moved_invoices(event.connection, changes) if id not in fetched]
    if moved:
        changes += connector.fetch("invoice", moved)
    return changes


def moved_invoices(connection, changes: list) -> list[str]:
    """Return the invoices whose balance the fetched payments' changes move.

    Those the payment applies to in the source now, and those arbridge holds
    it applied to (all of them, for a payment deleted there).
    """
    payments = [c for c in changes if isinstance(c, Change) and c.entity == "payment"]
    if not payments:
        return []
    ids: dict[str, None] = {}
    for change in payments:
        if change.op == Op.UPSERT and isinstance(change.record, PaymentRecord):
            for allocation in change.record.allocations:
                ids[allocation.invoice_remote_id] = None
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
