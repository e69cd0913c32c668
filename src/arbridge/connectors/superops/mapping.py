"""SuperOps GraphQL records <-> arbridge's canonical records; pure functions.

Only billing contacts cross: a client's billing contact, or its primary
contact where it names none, as one contact keyed by the client's accountId
(a client has one). Amounts arrive as decimal strings and stay Decimal.

# Reference: https://developer.superops.com/msp/#tag/Client
# Reference: https://developer.superops.com/msp/#tag/Invoice
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from arbridge.connectors.base import (
    Change,
    ContactRecord,
    CustomerRecord,
    InvoiceLineRecord,
    InvoiceRecord,
    Op,
    Rejected,
)

ZERO = Decimal(0)
VOID = {"VOID", "VOIDED", "CANCELLED"}


def customer_changes(raw: Any) -> list[Change | Rejected]:
    """Return a client as a customer and its billing contact (or the contact's removal)."""
    if not isinstance(raw, dict) or not str(raw.get("accountId", "")).isdigit():
        return [Rejected("customer", "", "accountId: not a SuperOps client id", raw)]
    remote_id = str(raw["accountId"])
    updated = _time(raw.get("updatedTime"))
    record = CustomerRecord(
        name=(raw.get("name") or "").strip() or f"Client {remote_id}",
        email=(raw.get("email") or "").strip(),
        phone=(raw.get("phone") or "").strip(),
    )
    customer = Change("customer", remote_id, Op.UPSERT, record, remote_updated_at=updated, raw=raw)
    person = raw.get("billingContact") or raw.get("primaryContact")
    if not isinstance(person, dict) or not (person.get("email") or person.get("firstName")):
        return [customer, Change("contact", remote_id, Op.DELETE, raw=raw)]
    name = " ".join(filter(None, (person.get("firstName"), person.get("lastName"))))
    contact = ContactRecord(
        customer_remote_id=remote_id,
        name=name.strip(),
        email=(person.get("email") or "").strip(),
        phone=(person.get("contactNumber") or "").strip(),
        is_billing=True,
    )
    return [customer, Change("contact", remote_id, Op.UPSERT, contact, remote_updated_at=updated)]


def invoice_change(raw: Any) -> Change | Rejected:
    """Return a SuperOps invoice, read with its items, as an invoice."""
    if not isinstance(raw, dict) or not str(raw.get("invoiceId", "")).isdigit():
        return Rejected("invoice", "", "invoiceId: not a SuperOps invoice id", raw)
    remote_id = str(raw["invoiceId"])
    try:
        issued = dt.date.fromisoformat(str(raw.get("invoiceDate"))[:10])
        due = dt.date.fromisoformat(str(raw["dueDate"])[:10]) if raw.get("dueDate") else None
        total = _money(raw.get("totalAmount"))
        lines = [
            InvoiceLineRecord(
                description=item.get("details") or item.get("serviceItemName") or "",
                item=item.get("serviceItemName") or "",
                quantity=_money(item.get("quantity"), Decimal(1)),
                unit_price=_money(item.get("unitPrice")),
                amount=_money(item.get("total")),
            )
            for item in raw.get("items") or []
        ]
        tax = sum((_money(item.get("taxAmount")) for item in raw.get("items") or []), ZERO)
    except (ValueError, TypeError, InvalidOperation, AttributeError) as error:
        return Rejected("invoice", remote_id, f"invoice: {error}", raw)
    if tax:
        # SuperOps keeps tax on each item; a line of its own makes the lines add up.
        lines.append(InvoiceLineRecord(description="Tax", amount=tax))
    voided = str(raw.get("statusEnum") or "").upper() in VOID
    due_amount = raw.get("amountDue")
    balance = total if due_amount is None else _money(due_amount)
    client = raw.get("client") or {}
    record = InvoiceRecord(
        number=raw.get("displayId") or remote_id,
        customer_remote_id=str(client["accountId"]) if client.get("accountId") else None,
        currency=_currency(raw.get("currencyCode")),
        issue_date=issued,
        due_date=due,
        terms=raw.get("paymentTerm") or "",
        memo=raw.get("notes") or "",
        total=total,
        balance=ZERO if voided else max(balance, ZERO),
        voided=voided,
        lines=tuple(lines),
        has_pdf=False,  # seeds: SuperOps has no native PDF; arbridge renders its own
    )
    updated = _time(raw.get("updatedTime"))
    return Change("invoice", remote_id, Op.UPSERT, record, remote_updated_at=updated, raw=raw)


def payment_input(invoice_id: str, amount: Any, date: str, reference: str) -> dict[str, Any]:
    """Return recordInvoicePayment's input for one allocation of an arbridge payment."""
    return {
        "invoice": {"invoiceId": invoice_id},
        "amount": str(Decimal(str(amount))),
        "paymentDate": date,
        "paymentMode": "OTHER",
        # SuperOps has no idempotency key: this is what a retry looks for first.
        "reference": reference,
    }


def _money(value: Any, default: Decimal = ZERO) -> Decimal:
    return default if value is None or value == "" else Decimal(str(value))


def _currency(code: Any) -> str:
    text = str(code or "").strip().upper()
    return text if len(text) == 3 and text.isalpha() else "USD"


def _time(value: Any) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
