"""Autotask records <-> canonical records; pure functions.

Field names are the spec's (CompanyModel, InvoiceModel) and, for contacts
and billing items (an invoice's lines), the vendor's entity pages (neither
model is in the transcription).
Reference: https://www.autotask.net/help/developerhelp/Content/APIs/REST/Entities/ContactsEntity.htm
Reference: https://www.autotask.net/help/developerhelp/Content/APIs/REST/Entities/BillingItemsEntity.htm

Autotask has no payment records: arbridge marks an invoice paid by setting
its `paidDate`, and notes each payment it wrote in the invoice's `comments`,
one line each, so a retry can see it is done and a reversal can take it back:

    arbridge payment <reference>: 40.00 USD on 2026-03-02
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
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

CENT = Decimal("0.01")
NOTE = re.compile(r"^arbridge payment (\S+): (\S+) ([A-Z]{3}) on (\S+)$")


def customer_change(raw: dict[str, Any]) -> Change:
    record = CustomerRecord(
        name=str(raw.get("companyName") or ""),
        phone=str(raw.get("phone") or ""),
        billing_state=str(raw.get("billToState") or raw.get("state") or ""),
    )
    return Change("customer", str(raw["id"]), Op.UPSERT, record, raw=raw)


def contact_change(raw: dict[str, Any]) -> Change | Rejected:
    if not raw.get("companyID"):
        return Rejected("contact", str(raw.get("id", "")), "a contact without a company", raw)
    name = f"{raw.get('firstName') or ''} {raw.get('lastName') or ''}".strip()
    record = ContactRecord(
        customer_remote_id=str(raw["companyID"]),
        name=name,
        email=str(raw.get("emailAddress") or ""),
        phone=str(raw.get("phone") or ""),
        # Autotask has no billing-contact flag; the company's primary contact is the nearest.
        is_billing=bool(raw.get("primaryContact")),
    )
    return Change("contact", str(raw["id"]), Op.UPSERT, record, raw=raw)


def line(raw: dict[str, Any]) -> InvoiceLineRecord:
    """Return a billing item as a line of its invoice; its amount is before tax."""
    quantity = raw.get("quantity")
    return InvoiceLineRecord(
        description=str(raw.get("description") or raw.get("itemName") or ""),
        item=str(raw.get("itemName") or ""),
        quantity=Decimal(str(quantity if quantity is not None else 1)),
        unit_price=Decimal(str(raw.get("rate") or 0)),
        amount=Decimal(str(raw.get("extendedPrice") or 0)).quantize(CENT),
    )


def invoice_change(raw: dict[str, Any], items: Sequence[dict[str, Any]] = ()) -> Change | Rejected:
    """Return an invoice read with its billing items as its lines."""
    remote_id = str(raw.get("id", ""))
    try:
        total = Decimal(str(raw["invoiceTotal"])).quantize(CENT)
        issued = parse_date(raw["invoiceDateTime"])
    except (KeyError, TypeError, ValueError, InvalidOperation):
        return Rejected("invoice", remote_id, "an invoice without a total or a date", raw)
    try:
        lines = tuple(line(item) for item in items)
    except (TypeError, ValueError, InvalidOperation):
        return Rejected("invoice", remote_id, "a billing item without a number", raw)
    settled = bool(raw.get("paidDate")) or bool(raw.get("isVoided"))
    record = InvoiceRecord(
        number=str(raw.get("invoiceNumber") or remote_id),
        customer_remote_id=str(raw["companyID"]) if raw.get("companyID") else None,
        issue_date=issued,
        due_date=parse_date(raw["dueDate"]) if raw.get("dueDate") else None,
        total=total,
        # Autotask keeps no balance: an invoice is paid (paidDate) or it is not.
        balance=Decimal("0.00") if settled else total,
        voided=bool(raw.get("isVoided")),
        lines=lines,
    )
    return Change("invoice", remote_id, Op.UPSERT, record, raw=raw)


def deleted(entity: str, remote_id: int | str) -> Change:
    return Change(entity, str(remote_id), Op.DELETE)


def parse_date(value: Any) -> dt.date:
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()


# -- payment notes ------------------------------------------------------------------


def payment_note(reference: str, amount: Decimal, currency: str, date: str) -> str:
    return f"arbridge payment {reference}: {amount.quantize(CENT)} {currency} on {date}"


def notes(comments: str | None) -> dict[str, Decimal]:
    """Return the payments arbridge noted on an invoice: reference -> amount."""
    found = {}
    for line in (comments or "").splitlines():
        if match := NOTE.match(line.strip()):
            found[match[1]] = Decimal(match[2])
    return found


def without_note(comments: str | None, reference: str) -> str:
    """Return the comments with the note of one payment taken out."""
    kept = [
        line
        for line in (comments or "").splitlines()
        if not ((match := NOTE.match(line.strip())) and match[1] == reference)
    ]
    return "\n".join(kept)
