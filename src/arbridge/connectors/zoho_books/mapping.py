"""Zoho Books records <-> canonical records; pure functions.

# Reference: https://www.zoho.com/books/api/v3/contacts/#list-contacts
# Reference: https://www.zoho.com/books/api/v3/invoices/#get-an-invoice
# Reference: https://www.zoho.com/books/api/v3/customer-payments/#create-a-payment

What is read:

- A contact of type "customer" is a customer; "inactive" reads as deleted.
  Zoho has no billing flag on contact persons: invoices are emailed to the
  contact's primary person by default, so that one (the list's first_name,
  last_name, email and phone) is the billing contact, `<contact_id>:primary`.
- An invoice is read whole: GET /invoices/{id} (its lines), and when it
  says something was paid or credited (payment_made, credits_applied), its
  payments (/payments) and credits (/creditsapplied). Drafts are not billed
  yet; a void invoice (or one taken back to draft) reads as deleted, which
  archives it in arbridge.
- Each of the invoice's payments is one canonical payment per payment and
  invoice (`<payment_id>:<invoice_id>`), so a payment applied to several
  invoices arrives as its part of each; each credit note applied is
  `<creditnote_id>:<invoice_id>`. One arbridge wrote (its reference
  number starts with REFERENCE_PREFIX) is arbridge's own and is not read
  back. One arbridge held for the invoice that it no longer lists was deleted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
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
from arbridge.connectors.wire import Unreadable
from arbridge.connectors.wire import amount as money
from arbridge.connectors.zoho_books.client import parse_time

Changes = list[Change | Rejected]

BILLED = frozenset({"sent", "viewed", "overdue", "unpaid", "partially_paid", "paid"})
GONE = frozenset({"void", "draft"})
# What arbridge writes in a payment's reference number, so it is found again.
REFERENCE_PREFIX = "arbridge:"
MAX_REFERENCE = 50  # kept short: Zoho's search_text takes at most 100 characters
METHODS = {
    "creditcard": "card",
    "credit card": "card",
    "check": "check",
    "cash": "cash",
    "banktransfer": "bank_transfer",
    "bank transfer": "bank_transfer",
    "bankremittance": "bank_transfer",
    "bank remittance": "bank_transfer",
    "ach": "ach",
}
ARBRIDGE_MODES = {"card": "creditcard", "ach": "banktransfer", "check": "check", "cash": "cash"}


def changed(
    entity: str,
    raw: dict[str, Any],
    remote_id: str,
    op: Op,
    record: Any = None,
    *,
    stamped: dict[str, Any] | None = None,
) -> Change:
    """Return a change, versioned by its record's last_modified_time and content.

    Zoho's times are to the second, so two states a second apart may carry
    one time: the version adds a digest of what was read (or "deleted"), so
    the engine can tell them apart. `stamped` is the record whose time it is
    (a payment's, its invoice).
    """
    updated = parse_time((stamped or raw).get("last_modified_time"))
    return Change(
        entity,
        remote_id,
        op,
        record,
        remote_version=f"{updated.isoformat() if updated else ''}#{digest(raw, op)}",
        remote_updated_at=updated,
        raw=raw,
    )


def digest(raw: dict[str, Any], op: Op) -> str:
    if op == Op.DELETE:
        return "deleted"
    text = json.dumps(raw, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def day(value: Any, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise Unreadable(f"{name} is not a date: {value!r}") from None


# -- contacts -----------------------------------------------------------------


def contact_changes(raw: dict[str, Any]) -> Changes:
    """Return a customer contact as a customer and its primary person as its billing contact."""
    contact_id = str(raw.get("contact_id") or "")
    if not contact_id:
        return [Rejected("customer", "", "the contact has no contact_id", raw)]
    if raw.get("contact_type", "customer") != "customer":
        return []
    primary = f"{contact_id}:primary"
    if raw.get("status") == "inactive":
        return [
            changed("customer", raw, contact_id, Op.DELETE),
            changed("contact", raw, primary, Op.DELETE),
        ]
    name = str(raw.get("contact_name") or raw.get("company_name") or "").strip()
    if not name:
        return [Rejected("customer", contact_id, "the contact has no contact_name", raw)]
    email = str(raw.get("email") or "").strip()
    phone = str(raw.get("phone") or raw.get("mobile") or "").strip()
    person = " ".join(filter(None, (raw.get("first_name"), raw.get("last_name")))) or name
    return [
        changed(
            "customer",
            raw,
            contact_id,
            Op.UPSERT,
            CustomerRecord(name=name, email=email, phone=phone),
        ),
        changed(
            "contact",
            raw,
            primary,
            Op.UPSERT if email else Op.DELETE,
            ContactRecord(customer_remote_id=contact_id, name=person, email=email, phone=phone)
            if email
            else None,
        ),
    ]


# -- invoices -----------------------------------------------------------------


def is_billed(summary: dict[str, Any]) -> bool:
    return str(summary.get("status") or "") in BILLED


def gone_changes(summary: dict[str, Any], *, full: bool) -> Changes:
    """Return an invoice voided or taken back to draft as a delete (nothing on a full read)."""
    invoice_id = str(summary.get("invoice_id") or "")
    if full or str(summary.get("status") or "") not in GONE:
        return []
    return [changed("invoice", summary, invoice_id, Op.DELETE)]


def invoice_changes(
    raw: dict[str, Any],
    payments: list[dict[str, Any]],
    credits: list[dict[str, Any]],
    held: dict[str, set[str]],
) -> Changes:
    """Return an invoice read whole, then the payments and credits applied to it.

    `held` maps "payment" and "credit" to the ids arbridge holds for this
    invoice; those the invoice no longer lists are deletes.
    """
    invoice_id = str(raw.get("invoice_id") or "")
    if not invoice_id:
        return [Rejected("invoice", "", "the invoice has no invoice_id", raw)]
    if not is_billed(raw):
        return gone_changes(raw, full=False)
    try:
        customer = raw.get("customer_id")
        currency = str(raw.get("currency_code") or "USD")
        record = InvoiceRecord(
            number=str(raw.get("invoice_number") or invoice_id),
            customer_remote_id=str(customer) if customer else None,
            currency=currency,
            issue_date=day(raw.get("date"), "date"),
            due_date=day(raw["due_date"], "due_date") if raw.get("due_date") else None,
            terms=str(raw.get("payment_terms_label") or ""),
            memo=str(raw.get("reference_number") or ""),
            total=money(raw.get("total", 0), "total"),
            balance=money(raw.get("balance", 0), "balance"),
            lines=tuple(invoice_line(line) for line in raw.get("line_items") or []),
            has_pdf=False,
        )
    except (Unreadable, ValueError) as e:
        return [Rejected("invoice", invoice_id, str(e), raw)]
    items: Changes = [changed("invoice", raw, invoice_id, Op.UPSERT, record)]
    items += applied_changes(raw, payments, credits, invoice_id, record, held)
    return items


def invoice_line(raw: dict[str, Any]) -> InvoiceLineRecord:
    quantity = money(raw.get("quantity", 1), "quantity")
    rate = money(raw.get("rate", 0), "rate")
    amount = raw.get("item_total")
    return InvoiceLineRecord(
        description=str(raw.get("description") or raw.get("name") or ""),
        item=str(raw.get("name") or ""),
        quantity=quantity,
        unit_price=rate,
        amount=money(amount, "item_total") if amount is not None else quantity * rate,
    )


def applied_changes(
    raw: dict[str, Any],
    payments: list[dict[str, Any]],
    credits: list[dict[str, Any]],
    invoice_id: str,
    invoice: InvoiceRecord,
    held: dict[str, set[str]],
) -> Changes:
    items: Changes = []
    seen: dict[str, set[str]] = {"payment": set(), "credit": set()}
    for payment in payments:
        if is_arbridge(payment.get("reference_number")):
            continue
        remote_id = f"{payment.get('payment_id')}:{invoice_id}"
        seen["payment"].add(remote_id)
        try:
            record = PaymentRecord(
                customer_remote_id=invoice.customer_remote_id,
                amount=money(payment.get("amount"), "amount"),
                currency=invoice.currency,
                date=day(payment.get("date"), "date"),
                method=METHODS.get(str(payment.get("payment_mode") or "").lower(), "other"),
                reference=str(payment.get("reference_number") or ""),
                allocations=(
                    AllocationRecord(
                        invoice_remote_id=invoice_id, amount=money(payment.get("amount"), "amount")
                    ),
                ),
            )
        except (Unreadable, ValueError) as e:
            items.append(Rejected("payment", remote_id, str(e), payment))
            continue
        items.append(changed("payment", payment, remote_id, Op.UPSERT, record, stamped=raw))
    for credit in credits:
        remote_id = f"{credit.get('creditnote_id')}:{invoice_id}"
        seen["credit"].add(remote_id)
        try:
            record = CreditRecord(
                invoice_remote_id=invoice_id,
                amount=money(credit.get("amount_applied"), "amount_applied"),
                currency=invoice.currency,
                date=day(credit.get("credited_date") or raw.get("date"), "credited_date"),
                reference=str(credit.get("creditnotes_number") or ""),
            )
        except (Unreadable, ValueError) as e:
            items.append(Rejected("credit", remote_id, str(e), credit))
            continue
        items.append(changed("credit", credit, remote_id, Op.UPSERT, record, stamped=raw))
    for entity in ("payment", "credit"):
        for remote_id in sorted(held.get(entity, set()) - seen[entity]):
            items.append(changed(entity, raw, remote_id, Op.DELETE))
    return items


def by_invoice(remote_ids: Iterable[str]) -> dict[str, set[str]]:
    """Group `<record>:<invoice_id>` ids by their invoice id."""
    grouped: dict[str, set[str]] = {}
    for remote_id in remote_ids:
        _, _, invoice_id = str(remote_id).rpartition(":")
        if invoice_id:
            grouped.setdefault(invoice_id, set()).add(str(remote_id))
    return grouped


# -- writing payments -----------------------------------------------------------


def is_arbridge(reference: Any) -> bool:
    return str(reference or "").startswith(REFERENCE_PREFIX)


def reference(key: str) -> str:
    """Return the reference number a payment written under `key` carries: found again by it."""
    text = f"{REFERENCE_PREFIX}{key}"
    if len(text) <= MAX_REFERENCE:
        return text
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"{REFERENCE_PREFIX}{key[: MAX_REFERENCE - len(REFERENCE_PREFIX) - 25]}-{digest}"


def payment_body(
    payload: dict[str, Any], customer_id: str, key: str, account_id: str | None
) -> dict[str, Any]:
    """Return a customer payment applied to the command's invoices, marked with its key."""
    allocations = payload.get("allocations") or []
    if not allocations:
        raise PermanentError("the payment applies to no invoice")
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "payment_mode": ARBRIDGE_MODES.get(str(payload.get("method") or "card"), "creditcard"),
        "amount": sum((money(a["amount"], "amount") for a in allocations), Decimal(0)),
        "date": str(payload.get("date") or dt.date.today().isoformat())[:10],
        "reference_number": reference(key),
        "description": str(payload.get("reference") or "Paid through arbridge")[:100],
        "invoices": [
            {
                "invoice_id": str(a["invoice_remote_id"]),
                "amount_applied": money(a["amount"], "amount"),
            }
            for a in allocations
        ],
    }
    if account_id:
        body["account_id"] = account_id
    return body


# -- writing deposits -----------------------------------------------------------------

# Reference: https://www.zoho.com/books/api/v3/bank-transactions/
# The bank transactions module is not among ../shared/specs/zoho-books: its
# fields below are from Zoho's documentation pages (verify).


def deposit_bodies(
    payload: dict[str, Any],
    key: str,
    *,
    clearing: str,
    bank: str,
    fee_account: str | None,
    surcharge_account: str | None,
) -> dict[str, dict[str, Any]]:
    """Return a payout as bank transactions: surcharges in, fees out, the payout to the bank.

    The payments it pays out wait in `clearing`; surcharges are deposited
    there from the income account, fees spent from it, and the payout
    transferred to the bank, so clearing is left at nothing.
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
    date = str(payload["date"])[:10]
    bodies: dict[str, dict[str, Any]] = {}
    if surcharges:
        if not surcharge_account:
            raise PermanentError("no Zoho Books account is chosen for surcharge income")
        bodies["surcharges"] = {
            "transaction_type": "deposit",
            "from_account_id": surcharge_account,
            "to_account_id": clearing,
            "amount": surcharges,
            "date": date,
            "reference_number": reference(f"{key}:surcharges"),
            "description": "Surcharges taken with card payments",
        }
    if fees:
        if not fee_account:
            raise PermanentError("no Zoho Books account is chosen for processing fees")
        bodies["fees"] = {
            "transaction_type": "expense",
            "from_account_id": clearing,
            "to_account_id": fee_account,
            "amount": fees,
            "date": date,
            "reference_number": reference(f"{key}:fees"),
            "description": "Payment processing fees",
        }
    bodies["transfer"] = {
        "transaction_type": "transfer_fund",
        "from_account_id": clearing,
        "to_account_id": bank,
        "amount": payout,
        "date": date,
        "reference_number": reference(f"{key}:transfer"),
        "description": f"arbridge payout {payload['deposit_id']}",
    }
    return bodies
