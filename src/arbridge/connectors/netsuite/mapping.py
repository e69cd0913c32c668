"""NetSuite records <-> canonical records; pure functions.

# Reference: https://system.netsuite.com/help/helpcenter/en_US/APIs/REST_API_Browser/record/v1/2024.2/index.html
# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_158394344595.html

What is read (each record by the REST record service, sublists expanded):

- customer: a customer; one inactive (isInactive) reads as deleted. Its
  billing contacts are the contactRoles whose role is a billing role
  (BILLING_ROLES), `<customer>:<contact>`; with none, the customer's own
  email (where NetSuite sends its invoices) is the billing contact,
  `<customer>:email`. Other contacts are not read.
- invoice: its item sublist is its lines; a voided one reads as deleted.
- customerPayment: one payment, its apply sublist's applied lines its
  allocations. One arbridge wrote (its externalId starts with PREFIX) is
  arbridge's own and is not read back.
- creditMemo: one credit per invoice its apply sublist applies it to,
  `<credit memo>:<invoice>`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable
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
from arbridge.connectors.netsuite.client import parse_time
from arbridge.connectors.wire import Unreadable
from arbridge.connectors.wire import amount as money

Changes = list[Change | Rejected]

PREFIX = "arbridge-"
SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,60}$")
BILLING_ROLES = frozenset({"billing", "billing contact", "accounts payable"})
VOIDED = frozenset({"voided", "void"})
METHODS = {
    "cash": "cash",
    "check": "check",
    "ach": "ach",
    "visa": "card",
    "mastercard": "card",
    "american express": "card",
    "discover": "card",
    "eft": "bank_transfer",
    "wire": "bank_transfer",
}


def digest(raw: dict[str, Any]) -> str:
    text = json.dumps(raw, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def changed(entity: str, raw: dict[str, Any], remote_id: str, op: Op, record: Any = None) -> Change:
    """Return a change versioned by lastModifiedDate (to the second) and what was read."""
    updated = parse_time(raw.get("lastModifiedDate"))
    mark = "deleted" if op == Op.DELETE else digest(raw)
    return Change(
        entity,
        remote_id,
        op,
        record,
        remote_version=f"{updated.isoformat() if updated else ''}#{mark}",
        remote_updated_at=updated,
        raw=raw,
    )


def day(value: Any, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise Unreadable(f"{name} is not a date: {value!r}") from None


def ref(value: Any) -> str:
    """Return the id of a reference ({"id": "12", "refName": ...}), or ""."""
    return str(value.get("id") or "") if isinstance(value, dict) else ""


def ref_name(value: Any) -> str:
    return str(value.get("refName") or "") if isinstance(value, dict) else ""


def items(raw: dict[str, Any], sublist: str) -> list[dict[str, Any]]:
    value = raw.get(sublist)
    found = value.get("items") if isinstance(value, dict) else None
    return [i for i in found or [] if isinstance(i, dict)]


def currency(raw: dict[str, Any]) -> str:
    return ref_name(raw.get("currency")) or "USD"


def by_owner(remote_ids: Iterable[str]) -> dict[str, set[str]]:
    """Group `<owner>:<part>` ids by their owner."""
    grouped: dict[str, set[str]] = {}
    for remote_id in remote_ids:
        owner, sep, _ = str(remote_id).partition(":")
        if sep:
            grouped.setdefault(owner, set()).add(str(remote_id))
    return grouped


# -- customers ------------------------------------------------------------------


def customer_changes(raw: dict[str, Any], held_contacts: set[str]) -> Changes:
    customer_id = str(raw.get("id") or "")
    if not customer_id:
        return [Rejected("customer", "", "the customer has no id", raw)]
    if raw.get("isInactive"):
        out: Changes = [changed("customer", raw, customer_id, Op.DELETE)]
        out += [changed("contact", raw, c, Op.DELETE) for c in sorted(held_contacts)]
        return out
    name = str(raw.get("companyName") or raw.get("entityId") or "").strip()
    if not name:
        return [Rejected("customer", customer_id, "the customer has no name", raw)]
    email = str(raw.get("email") or "").strip()
    phone = str(raw.get("phone") or "").strip()
    out = [
        changed(
            "customer",
            raw,
            customer_id,
            Op.UPSERT,
            CustomerRecord(name=name, email=email, phone=phone),
        )
    ]
    contacts: dict[str, ContactRecord] = {}
    for role in items(raw, "contactRoles"):
        contact_id, address = ref(role.get("contact")), str(role.get("email") or "").strip()
        if ref_name(role.get("role")).lower() in BILLING_ROLES and contact_id and address:
            contacts[f"{customer_id}:{contact_id}"] = ContactRecord(
                customer_remote_id=customer_id,
                name=ref_name(role.get("contact")) or name,
                email=address,
            )
    if not contacts and email:
        contacts[f"{customer_id}:email"] = ContactRecord(
            customer_remote_id=customer_id, name=name, email=email, phone=phone
        )
    out += [changed("contact", raw, c, Op.UPSERT, r) for c, r in sorted(contacts.items())]
    out += [changed("contact", raw, c, Op.DELETE) for c in sorted(held_contacts - set(contacts))]
    return out


# -- invoices -------------------------------------------------------------------


def invoice_changes(raw: dict[str, Any]) -> Changes:
    invoice_id = str(raw.get("id") or "")
    if not invoice_id:
        return [Rejected("invoice", "", "the invoice has no id", raw)]
    if ref_name(raw.get("status")).lower() in VOIDED:
        return [changed("invoice", raw, invoice_id, Op.DELETE)]
    try:
        record = InvoiceRecord(
            number=str(raw.get("tranId") or invoice_id),
            customer_remote_id=ref(raw.get("entity")) or None,
            currency=currency(raw),
            issue_date=day(raw.get("tranDate"), "tranDate"),
            due_date=day(raw["dueDate"], "dueDate") if raw.get("dueDate") else None,
            terms=ref_name(raw.get("terms")),
            memo=str(raw.get("memo") or ""),
            total=money(raw.get("total", 0), "total"),
            balance=money(raw.get("amountRemaining", 0), "amountRemaining"),
            lines=tuple(line(item) for item in items(raw, "item")),
            has_pdf=False,
        )
    except (Unreadable, ValueError) as e:
        return [Rejected("invoice", invoice_id, str(e), raw)]
    return [changed("invoice", raw, invoice_id, Op.UPSERT, record)]


def line(item: dict[str, Any]) -> InvoiceLineRecord:
    quantity = money(item.get("quantity") or 1, "quantity")
    amount = money(item.get("amount", 0), "amount")
    rate = item.get("rate")
    return InvoiceLineRecord(
        description=str(item.get("description") or ref_name(item.get("item")) or ""),
        item=ref_name(item.get("item")),
        quantity=quantity,
        unit_price=money(rate, "rate") if rate is not None else amount / (quantity or 1),
        amount=amount,
    )


# -- payments and credits ---------------------------------------------------------


def is_arbridge(raw: dict[str, Any]) -> bool:
    return str(raw.get("externalId") or "").startswith(PREFIX)


def payment_changes(raw: dict[str, Any]) -> Changes:
    payment_id = str(raw.get("id") or "")
    if not payment_id:
        return [Rejected("payment", "", "the payment has no id", raw)]
    if is_arbridge(raw):
        return []
    try:
        allocations = tuple(
            AllocationRecord(
                invoice_remote_id=ref(a.get("doc")), amount=money(a.get("amount"), "amount")
            )
            for a in items(raw, "apply")
            if a.get("apply") and ref(a.get("doc"))
        )
        record = PaymentRecord(
            customer_remote_id=ref(raw.get("customer")) or None,
            amount=money(raw.get("payment", 0), "payment"),
            currency=currency(raw),
            date=day(raw.get("tranDate"), "tranDate"),
            method=METHODS.get(ref_name(raw.get("paymentMethod")).lower(), "other"),
            reference=str(raw.get("tranId") or raw.get("memo") or ""),
            allocations=allocations,
        )
    except (Unreadable, ValueError) as e:
        return [Rejected("payment", payment_id, str(e), raw)]
    return [changed("payment", raw, payment_id, Op.UPSERT, record)]


def credit_changes(raw: dict[str, Any], held: set[str]) -> Changes:
    memo_id = str(raw.get("id") or "")
    if not memo_id:
        return [Rejected("credit", "", "the credit memo has no id", raw)]
    out: Changes = []
    seen: set[str] = set()
    for applied in items(raw, "apply"):
        invoice_id = ref(applied.get("doc"))
        if not (applied.get("apply") and invoice_id):
            continue
        remote_id = f"{memo_id}:{invoice_id}"
        try:
            record = CreditRecord(
                invoice_remote_id=invoice_id,
                amount=money(applied.get("amount"), "amount"),
                currency=currency(raw),
                date=day(raw.get("tranDate"), "tranDate"),
                reference=str(raw.get("tranId") or ""),
            )
        except (Unreadable, ValueError) as e:
            out.append(Rejected("credit", remote_id, str(e), raw))
            continue
        seen.add(remote_id)
        out.append(changed("credit", raw, remote_id, Op.UPSERT, record))
    out += [changed("credit", raw, c, Op.DELETE) for c in sorted(held - seen)]
    return out


# -- writing ----------------------------------------------------------------------


def external_id(key: str) -> str:
    """Return the external id a write under `key` carries: the same key, the same record."""
    plain = key.replace(":", ".")
    if SAFE.match(plain) and len(PREFIX) + len(plain) <= 60:
        return f"{PREFIX}{plain}"
    return f"{PREFIX}{hashlib.sha256(key.encode()).hexdigest()[:40]}"


def payment_body(
    payload: dict[str, Any], customer_id: str, key: str, account_id: str | None
) -> dict[str, Any]:
    allocations = payload.get("allocations") or []
    if not allocations:
        raise PermanentError("the payment applies to no invoice")
    body: dict[str, Any] = {
        "externalId": external_id(key),
        "customer": {"id": customer_id},
        "payment": sum((money(a["amount"], "amount") for a in allocations), Decimal(0)),
        "tranDate": str(payload.get("date") or dt.date.today().isoformat())[:10],
        "memo": str(payload.get("reference") or "Paid through arbridge")[:999],
        "apply": {
            "items": [
                {
                    "doc": {"id": str(a["invoice_remote_id"])},
                    "apply": True,
                    "amount": money(a["amount"], "amount"),
                }
                for a in allocations
            ]
        },
    }
    if account_id:
        body["account"] = {"id": account_id}
    else:
        body["undepFunds"] = True
    return body


def deposit_body(
    payload: dict[str, Any],
    key: str,
    *,
    bank: str,
    fee_account: str | None,
    surcharge_account: str | None,
) -> dict[str, Any]:
    """Return a payout as one deposit: its payments, surcharges as other, fees as cash back.

    NetSuite's deposit takes the payments waiting in Undeposited Funds
    (payment sublist), money from elsewhere (other), and money kept back
    (cashBack): the processor's fee is a cash back line to the fee account,
    so the deposit's total is the payout the bank received.
    """
    payout = money(payload["payout"], "payout")
    fees = money(payload.get("fees") or "0", "fees")
    surcharges = money(payload.get("surcharges") or "0", "surcharges")
    paid = sum((money(p["amount"], "payment amount") for p in payload["payments"]), Decimal(0))
    if payout <= 0 or fees < 0 or surcharges < 0:
        raise PermanentError(f"the payout {payout}, fees {fees}, surcharges {surcharges} are wrong")
    if payout + fees != paid + surcharges:
        raise PermanentError(
            f"the payout {payout} and its fees {fees} do not add up to its payments' "
            f"{paid} and surcharges {surcharges}"
        )
    body: dict[str, Any] = {
        "externalId": external_id(key),
        "account": {"id": bank},
        "tranDate": str(payload["date"])[:10],
        "memo": f"arbridge payout {payload.get('deposit_id', '')}".strip(),
        "payment": {
            "items": [
                {
                    "doc": {"id": str(p["remote_id"])},
                    "deposit": True,
                    "paymentAmount": money(p["amount"], "payment amount"),
                }
                for p in payload["payments"]
            ]
        },
    }
    if fees:
        if not fee_account:
            raise PermanentError("no NetSuite account is chosen for processing fees")
        body["cashBack"] = {
            "items": [
                {"account": {"id": fee_account}, "amount": fees, "memo": "Payment processing fees"}
            ]
        }
    if surcharges:
        if not surcharge_account:
            raise PermanentError("no NetSuite account is chosen for surcharge income")
        body["other"] = {
            "items": [
                {
                    "account": {"id": surcharge_account},
                    "amount": surcharges,
                    "memo": "Surcharges taken with card payments",
                }
            ]
        }
    return body
