"""The Sync Tool: copy closed ConnectWise invoices into QuickBooks Online, once each.

A person picks closed ConnectWise invoices that QuickBooks does not hold yet.
Each is first brought into arbridge through the sync engine (so it exists
here, linked to ConnectWise), marked as synced with the Sync Tool, and owed
to QuickBooks as one `create_invoice` command whose key names the ConnectWise
invoice: choosing it again owes nothing more, and the connector looks the
number up in QuickBooks before creating, so even a retried command makes one
invoice. When the command is done the outbox links the invoice to its
QuickBooks copy, so it is linked in both connections.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from django.db import transaction

from arbridge.connectors.base import Change, InvoiceSummary
from arbridge.core import clock
from arbridge.core.models import Connection
from arbridge.integrations.connect import build_connector, http_client
from arbridge.integrations.external_payments import connections
from arbridge.integrations.models import (
    ExternalRef,
    IntegrationPreferences,
    OutboundCommand,
    SyncedInvoice,
)
from arbridge.integrations.sync import apply_changes
from arbridge.ledger.models import Invoice


class SyncToolError(Exception):
    """Something a person must fix before invoices can be synced; the message says what."""


class Outcome(NamedTuple):
    number: str
    synced: SyncedInvoice | None
    problem: str


def pair(partner_id: int) -> tuple[Connection, Connection]:
    """Return the partner's (ConnectWise, QuickBooks Online) connections, both active."""
    quickbooks, connectwise = connections(partner_id)
    for connection, name in ((connectwise, "ConnectWise"), (quickbooks, "QuickBooks Online")):
        if connection is None:
            raise SyncToolError(f"The Sync Tool needs a {name} integration.")
        if not connection.is_active:
            raise SyncToolError(
                f"The {name} integration is {connection.get_status_display().lower()}."
            )
    return connectwise, quickbooks


def waiting_invoices(partner_id: int) -> list[InvoiceSummary]:
    """Return the closed ConnectWise invoices that are not in QuickBooks Online yet."""
    connectwise, quickbooks = pair(partner_id)
    with http_client() as http:
        closed = list(build_connector(connectwise, http).closed_invoices())
    synced = set(
        SyncedInvoice.objects.for_partner(partner_id)
        .filter(source=connectwise)
        .values_list("source_remote_id", flat=True)
    )
    in_quickbooks = set(
        Invoice.objects.for_partner(partner_id)
        .filter(
            number__in=[invoice.number for invoice in closed],
            pk__in=ExternalRef.objects.filter(
                connection=quickbooks, entity="invoice", deleted_at__isnull=True
            ).values("local_id"),
        )
        .values_list("number", flat=True)
    )
    return [
        invoice
        for invoice in closed
        if invoice.id not in synced and invoice.number not in in_quickbooks
    ]


def sync_invoices(partner_id: int, remote_ids: list[str], user=None) -> list[Outcome]:
    """Owe QuickBooks a copy of each chosen ConnectWise invoice; say what happened to each."""
    connectwise, quickbooks = pair(partner_id)
    preferences = IntegrationPreferences.for_partner_of(partner_id)
    if not preferences.sync_tool_item_id:
        raise SyncToolError("Choose the QuickBooks item for invoice lines in the preferences.")
    outcomes = []
    with http_client() as http:
        connector = build_connector(connectwise, http)
        for remote_id in dict.fromkeys(remote_ids):
            outcomes.append(sync_one(connector, connectwise, quickbooks, remote_id, user))
    if any(outcome.synced for outcome in outcomes) and not preferences.sync_tool_in_use:
        preferences.sync_tool_in_use, preferences.updated_at = True, clock.now()
        preferences.save(update_fields=["sync_tool_in_use", "updated_at"])
    return outcomes


def sync_one(
    connector, connectwise: Connection, quickbooks: Connection, remote_id: str, user
) -> Outcome:
    copy = connector.invoice(remote_id)
    if copy is None:
        return Outcome(remote_id, None, "ConnectWise has no such invoice.")
    if not connector.is_closed(copy):
        return Outcome(copy.number, None, "The invoice is not closed in ConnectWise.")
    invoice = bring_in(connector, connectwise, copy)
    if invoice is None:
        return Outcome(
            copy.number, None, "arbridge could not take the invoice in; see the exceptions."
        )
    already = SyncedInvoice.objects.filter(invoice=invoice).first()
    if already is None and linked(quickbooks, invoice):
        return Outcome(copy.number, None, "QuickBooks Online already has this invoice.")
    preferences = IntegrationPreferences.for_partner_of(connectwise.partner_id)
    with transaction.atomic():
        synced, _ = SyncedInvoice.objects.get_or_create(
            invoice=invoice,
            defaults={
                "partner_id": connectwise.partner_id,
                "source": connectwise,
                "target": quickbooks,
                "source_remote_id": copy.id,
                "synced_by": user,
            },
        )
        if synced.command_id is None:
            synced.command = OutboundCommand.enqueue(
                quickbooks,
                "create_invoice",
                invoice_payload(invoice, copy, preferences),
                f"{quickbooks.kind}-synctool-{connectwise.pk}-{copy.id}-{quickbooks.pk}",
            )
            synced.save(update_fields=["command"])
    return Outcome(copy.number, synced, "")


def bring_in(connector, connectwise: Connection, copy: InvoiceSummary) -> Invoice | None:
    """Return the arbridge invoice of a ConnectWise invoice, syncing it in if it is not here."""
    if (invoice := local_invoice(connectwise, copy.id)) is not None:
        return invoice
    changes: list[Change] = []
    if copy.customer_id:
        changes.extend(connector.fetch("customer", [copy.customer_id]))
    changes.extend(connector.fetch("invoice", [copy.id]))
    apply_changes(connectwise, changes, connector.capabilities)
    return local_invoice(connectwise, copy.id)


def local_invoice(connection: Connection, remote_id: str) -> Invoice | None:
    ref = ExternalRef.objects.filter(
        connection=connection, entity="invoice", remote_id=remote_id, deleted_at__isnull=True
    ).first()
    return Invoice.objects.filter(pk=ref.local_id).first() if ref else None


def linked(connection: Connection, invoice: Invoice) -> bool:
    return ExternalRef.objects.filter(
        connection=connection, entity="invoice", local_id=invoice.pk, deleted_at__isnull=True
    ).exists()


def invoice_payload(
    invoice: Invoice, copy: InvoiceSummary, preferences: IntegrationPreferences
) -> dict[str, Any]:
    """Return the create_invoice command: ConnectWise's number, dates, customer and amounts."""
    lines = [
        {"description": line.description or line.item, "amount": str(line.amount)}
        for line in invoice.lines.all()
    ]
    if sum((Decimal(line["amount"]) for line in lines), Decimal(0)) != copy.total:
        # ConnectWise's lines are not read (Capabilities: INVOICE_LINES none): bill the total.
        lines = [{"description": f"ConnectWise invoice {copy.number}", "amount": str(copy.total)}]
    return {
        "entity": "invoice",
        "local_id": invoice.pk,
        "number": copy.number,
        "customer_name": copy.customer_name or invoice.customer.name,
        "currency": copy.currency,
        "date": (copy.date or invoice.issue_date).isoformat(),
        "due_date": (
            copy.due_date or invoice.due_date or copy.date or invoice.issue_date
        ).isoformat(),
        "total": str(copy.total),
        "lines": lines,
        "item_id": preferences.sync_tool_item_id,
        "income_account_id": preferences.sync_tool_income_account_id,
    }


def choices(partner_id: int) -> tuple[list, list]:
    """Return QuickBooks' items and income accounts, for the Sync Tool's preferences."""
    quickbooks, _ = connections(partner_id)
    if quickbooks is None or not quickbooks.is_active:
        raise SyncToolError("The Sync Tool needs a connected QuickBooks Online integration.")
    with http_client() as http:
        connector = build_connector(quickbooks, http)
        items = connector.items()
        accounts = [a for a in connector.accounts() if a.type == "Income"]
    return items, accounts
