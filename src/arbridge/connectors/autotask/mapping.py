"""Autotask records <-> canonical records; pure functions.

Field names are the spec's (CompanyModel, InvoiceModel) and, for contacts,
the vendor's Contacts entity page (ContactModel is not in the transcription).
Reference: https://www.autotask.net/help/developerhelp/Content/APIs/REST/Entities/ContactsEntity.htm

Autotask has no payment records: arbridge marks an invoice paid by setting
its `paidDate`, and notes each payment it wrote in the invoice's `comments`,
one line each, so a retry can see it is done and a reversal can take it back:

    arbridge payment <reference>: 40.00 USD on 2026-03-02
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from arbridge.connectors.base import (
    Change,
    ContactRecord,
    CustomerRecord,
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


def invoice_change(raw: dict[str, Any]) -> Change | Rejected:
    remote_id = str(raw.get("id", ""))
    try:
        total = Decimal(str(raw["invoiceTotal"])).quantize(CENT)
        issued = parse_date(raw["invoiceDateTime"])
    except (KeyError, TypeError, ValueError, InvalidOperation):
        return Rejected("invoice", remote_id, "an invoice without a total or a date", raw)
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
