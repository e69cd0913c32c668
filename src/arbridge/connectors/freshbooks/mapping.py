"""FreshBooks' records as arbridge's canonical ones, and arbridge's payments as FreshBooks'.

# Reference: https://www.freshbooks.com/api/clients
# Reference: https://www.freshbooks.com/api/invoices
# Reference: https://www.freshbooks.com/api/payments
# Reference: https://www.freshbooks.com/api/credit_notes
# Reference: ../shared/specs/freshbooks/freshbooks-openapi.ballerina-community.yaml

FreshBooks marks a record deleted or archived by its `vis_state` (0 active,
1 deleted, 2 archived) and keeps listing it. A deleted invoice is archived
in arbridge (FreshBooks has no void: deleting is how an invoice is
withdrawn); a deleted or archived client is deleted; a deleted payment is
removed. A draft invoice is not billed yet and is not read.

A credit note applied to an invoice is a payment of type "Credit" naming
the credit (`creditid`, `from_credit`): it reaches arbridge as a credit on
that invoice, not as money received. Amounts are {"amount": "12.30",
"code": "USD"}: decimal strings, read as Decimal.

A client's billing contacts are the people FreshBooks emails its invoices
to: the client's own name and email, and each of its contacts with an email.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any

from arbridge.connectors.base import (
    AllocationRecord,
    Change,
    ContactRecord,
    CreditRecord,
    CustomerRecord,
    InvoiceLineRecord,
    InvoiceRecord,
    Op,
    PaymentRecord,
    PermanentError,
    Rejected,
)
from arbridge.connectors.freshbooks.client import parse_stamp
from arbridge.connectors.wire import Unreadable, amount

Changes = list[Change | Rejected]
ACTIVE, DELETED, ARCHIVED = 0, 1, 2
# FreshBooks' payment types, as arbridge's methods.
METHODS = {
    "credit card": "card",
    "visa": "card",
    "mastercard": "card",
    "amex": "card",
    "discover": "card",
    "ach": "ach",
    "bank transfer": "bank_transfer",
    "check": "check",
    "cash": "cash",
}
# arbridge's methods, as the FreshBooks payment types written back.
TYPES = {"card": "Credit Card", "ach": "ACH", "check": "Check", "cash": "Cash"}
COUNTRIES = {
    "united states": "US",
    "usa": "US",
    "canada": "CA",
    "united kingdom": "GB",
    "australia": "AU",
    "ireland": "IE",
    "new zealand": "NZ",
}


def record_id(raw: dict[str, Any], *names: str) -> str:
    for name in (*names, "id", "ID"):
        if raw.get(name) not in (None, ""):
            return str(raw[name])
    return ""


def changed(entity: str, raw: dict[str, Any], remote_id: str, op: Op, record: Any = None) -> Change:
    """Return a change; its version is the record's content, its time FreshBooks' `updated`.

    `updated` is to the second, so two changes within one second carry the same
    time: the content's digest tells them apart, and the same record read twice
    is the same version.
    """
    return Change(
        entity,
        remote_id,
        op,
        record,
        remote_version=version(raw),
        remote_updated_at=parse_stamp(raw.get("updated")),
        raw=raw,
    )


def version(raw: dict[str, Any]) -> str:
    text = json.dumps(raw, sort_keys=True, default=str, separators=(",", ":"))
    # A letter first: a version of digits only would be compared as a number.
    return "c" + hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def money(value: Any, name: str) -> Decimal:
    """Return an amount: {"amount": "1.00", "code": ...} or a bare decimal string."""
    if isinstance(value, dict):
        value = value.get("amount")
    return amount(value, name)


def currency(raw: dict[str, Any], *names: str) -> str:
    for name in names:
        value = raw.get(name)
        code = value.get("code") if isinstance(value, dict) else value
        if code:
            return str(code)
    return "USD"


def day(raw: dict[str, Any], name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(raw.get(name) or "")[:10])
    except ValueError:
        raise Unreadable(f"{name} is not a date: {raw.get(name)!r}") from None


def country_code(country: str) -> str:
    text = country.strip()
    if len(text) == 2:
        return text.upper()
    return COUNTRIES.get(text.lower(), text[:2].upper() if text else "")


def person(raw: dict[str, Any]) -> str:
    return " ".join(str(raw[k]).strip() for k in ("fname", "lname") if raw.get(k)).strip()


# -- clients ------------------------------------------------------------------


def client_changes(raw: dict[str, Any], *, full: bool) -> Changes:
    """Return a client and its billing contacts; a deleted or archived one as deletes."""
    client_id = record_id(raw, "userid")
    contacts = [c for c in raw.get("contacts") or [] if isinstance(c, dict)]
    if raw.get("vis_state", ACTIVE) != ACTIVE:
        if full:
            return []
        gone: Changes = [changed("customer", raw, client_id, Op.DELETE)]
        gone.append(changed("contact", raw, f"{client_id}:primary", Op.DELETE))
        return gone + [
            changed("contact", raw, contact_key(client_id, c, n), Op.DELETE)
            for n, c in enumerate(contacts)
        ]
    email = str(raw.get("email") or "").strip()
    name = str(raw.get("organization") or "").strip() or person(raw) or email
    if not name:
        return [Rejected("customer", client_id, "the client has no organization or name", raw)]
    phone = str(raw.get("bus_phone") or raw.get("mob_phone") or raw.get("home_phone") or "")
    items: Changes = [
        changed(
            "customer",
            raw,
            client_id,
            Op.UPSERT,
            CustomerRecord(
                name=name,
                email=email,
                phone=phone,
                billing_state=str(raw.get("p_province") or ""),
                billing_country=country_code(str(raw.get("p_country") or "")),
            ),
        )
    ]
    primary = ContactRecord(
        customer_remote_id=client_id, name=person(raw) or name, email=email, phone=phone
    )
    items.append(
        changed(
            "contact",
            raw,
            f"{client_id}:primary",
            Op.UPSERT if email else Op.DELETE,
            primary if email else None,
        )
    )
    for n, contact in enumerate(contacts):
        key = contact_key(client_id, contact, n)
        contact_email = str(contact.get("email") or "").strip()
        if contact_email:
            record = ContactRecord(
                customer_remote_id=client_id, name=person(contact), email=contact_email
            )
            items.append(changed("contact", raw, key, Op.UPSERT, record))
        else:
            items.append(changed("contact", raw, key, Op.DELETE))
    return items


def contact_key(client_id: str, contact: dict[str, Any], n: int) -> str:
    return f"{client_id}:{contact.get('userid') or contact.get('id') or n}"


# -- invoices -----------------------------------------------------------------


def invoice_changes(raw: dict[str, Any], *, full: bool) -> Changes:
    """Return a billed invoice with its lines; a deleted one (read by change) as a delete."""
    invoice_id = record_id(raw, "invoiceid")
    if raw.get("vis_state", ACTIVE) == DELETED:
        return [] if full else [changed("invoice", raw, invoice_id, Op.DELETE)]
    if "draft" in (raw.get("v3_status"), raw.get("display_status")):
        return []
    try:
        customer = raw.get("customerid")
        record = InvoiceRecord(
            number=str(raw.get("invoice_number") or invoice_id),
            customer_remote_id=str(customer) if customer else None,
            currency=currency(raw, "currency_code", "amount"),
            issue_date=day(raw, "create_date"),
            due_date=day(raw, "due_date") if raw.get("due_date") else None,
            terms=str(raw.get("terms") or "")[:255],
            memo=str(raw.get("notes") or ""),
            total=money(raw.get("amount"), "amount"),
            balance=money(raw.get("outstanding", raw.get("amount")), "outstanding"),
            lines=tuple(invoice_line(line) for line in raw.get("lines") or []),
            has_pdf=False,
        )
    except (Unreadable, ValueError) as e:
        return [Rejected("invoice", invoice_id, str(e), raw)]
    return [changed("invoice", raw, invoice_id, Op.UPSERT, record)]


def invoice_line(raw: dict[str, Any]) -> InvoiceLineRecord:
    quantity = money(raw.get("qty", 1), "qty")
    unit = money(raw.get("unit_cost", 0), "unit_cost")
    name, description = str(raw.get("name") or ""), str(raw.get("description") or "")
    return InvoiceLineRecord(
        description=" - ".join(filter(None, (name, description))),
        item=name,
        quantity=quantity,
        unit_price=unit,
        amount=money(raw["amount"], "line amount") if raw.get("amount") else quantity * unit,
    )


# -- payments and credits -------------------------------------------------------


def is_credit(raw: dict[str, Any]) -> bool:
    return bool(raw.get("creditid") or raw.get("from_credit")) or raw.get("type") == "Credit"


def payment_changes(raw: dict[str, Any], *, full: bool) -> Changes:
    """Return a payment on an invoice, or a credit applied to one; deleted ones as deletes."""
    payment_id = record_id(raw, "logid")
    entity = "credit" if is_credit(raw) else "payment"
    if raw.get("vis_state", ACTIVE) == DELETED:
        return [] if full else [changed(entity, raw, payment_id, Op.DELETE)]
    try:
        invoice_id = str(raw["invoiceid"])
        amount = money(raw.get("amount"), "amount")
        code = currency(raw, "amount")
        if entity == "credit":
            record: Any = CreditRecord(
                invoice_remote_id=invoice_id,
                amount=amount,
                currency=code,
                date=day(raw, "date"),
                reference=str(raw.get("note") or raw.get("creditid") or ""),
            )
        else:
            client = raw.get("clientid")
            record = PaymentRecord(
                customer_remote_id=str(client) if client else None,
                amount=amount,
                currency=code,
                date=day(raw, "date"),
                method=METHODS.get(str(raw.get("type") or "").lower(), "other"),
                reference=str(raw.get("note") or ""),
                allocations=(AllocationRecord(invoice_remote_id=invoice_id, amount=amount),),
            )
    except (Unreadable, ValueError, KeyError) as e:
        return [Rejected(entity, payment_id, str(e), raw)]
    return [changed(entity, raw, payment_id, Op.UPSERT, record)]


# -- writing ------------------------------------------------------------------


def marker(key: str, n: int, of: int) -> str:
    """Return the text a payment written back carries in its note, to be found by again."""
    return f"[arbridge {key}]" if of == 1 else f"[arbridge {key}#{n + 1}]"


def payment_body(payload: dict[str, Any], allocation: dict[str, Any], mark: str) -> dict[str, Any]:
    """Return the FreshBooks payment of one invoice's share of a write-back."""
    try:
        amount = money(allocation["amount"], "allocation")
    except Unreadable as e:
        raise PermanentError(str(e)) from None
    reference = str(payload.get("reference") or "").strip()
    return {
        "invoiceid": int(allocation["invoice_remote_id"]),
        "amount": {"amount": f"{amount:.2f}", "code": str(payload.get("currency") or "USD")},
        "date": str(payload["date"])[:10],
        "type": TYPES.get(str(payload.get("method") or ""), "Other"),
        # The marker first: a note cut short by FreshBooks still carries it.
        "note": f"{mark} {reference}".strip(),
        "send_client_notification": False,
    }
