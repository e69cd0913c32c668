"""ConnectWise invoices and their payments, read for the Sync Tool and external payments.

The Sync Tool lists closed invoices: those whose billing status is named
"Closed", ConnectWise's default name for a finished invoice (InvoiceStatus
is a reference {id, name}; the status list itself was not transcribed, so
the name is the test). External payments compare an invoice with its
QuickBooks copy and look for a payment someone already entered by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from arbridge.connectors.base import InvoicePayment, InvoiceSummary
from arbridge.connectors.connectwise.client import ConnectWiseClient, NotFound
from arbridge.connectors.connectwise.mapping import amount, day

CLOSED = "Closed"
# What a payment arbridge wrote carries in its `source`.
REFERENCE_PREFIX = "arbridge:"


# What the Sync Tool copies and external payments compare of a ConnectWise invoice.
InvoiceCopy = InvoiceSummary


def copy_of(raw: dict[str, Any]) -> InvoiceCopy:
    company = raw.get("company") or {}
    return InvoiceCopy(
        id=str(raw["id"]),
        number=str(raw.get("invoiceNumber") or raw["id"]),
        total=amount(raw.get("total")),
        customer_id=str(company.get("id", "")),
        customer_name=str(company.get("name") or ""),
        date=day(raw.get("date")),
        due_date=day(raw.get("dueDate")),
        currency=(raw.get("currency") or {}).get("currencyCode") or "USD",
        status=str((raw.get("status") or {}).get("name") or ""),
    )


def closed_invoices(client: ConnectWiseClient) -> Iterator[InvoiceCopy]:
    """Yield the company's closed invoices, oldest first."""
    # Reference: ../shared/specs/connectwise, GET /finance/invoices (conditions, orderBy)
    conditions = f'status/name = "{CLOSED}"'
    for _, rows in client.records("finance/invoices", conditions=conditions, orderBy="id asc"):
        for raw in rows:
            yield copy_of(raw)


def invoice(client: ConnectWiseClient, invoice_id: str) -> InvoiceCopy | None:
    """Return one invoice, or None if ConnectWise no longer has it."""
    try:
        return copy_of(client.get(f"finance/invoices/{int(invoice_id)}"))
    except NotFound:
        return None


def invoice_by_number(client: ConnectWiseClient, number: str) -> InvoiceCopy | None:
    """Return the invoice carrying this number, if ConnectWise has exactly one."""
    quoted = number.replace("\\", "\\\\").replace('"', '\\"')
    found = [
        copy_of(raw)
        for _, rows in client.records("finance/invoices", conditions=f'invoiceNumber = "{quoted}"')
        for raw in rows
    ]
    return found[0] if len(found) == 1 else None


def payments(client: ConnectWiseClient, invoice_id: str) -> list[InvoicePayment]:
    """Return the payments applied to an invoice."""
    # Reference: ../shared/specs/connectwise InvoicePayment,
    # GET /finance/invoices/{parentId}/payments
    return [
        InvoicePayment(
            id=str(row["id"]),
            amount=amount(row.get("amount")),
            date=day(row.get("paymentDate")),
            is_arbridge=str(row.get("source") or "").startswith(REFERENCE_PREFIX),
        )
        for _, rows in client.records(f"finance/invoices/{int(invoice_id)}/payments")
        for row in rows
    ]
