"""Business Central's records as arbridge's canonical ones, and arbridge's writes as its lines.

# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_customer
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_contact
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_contactinformation
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_salesinvoice
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_salesinvoiceline
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_customerpayment
# Reference: https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_journalline

API v2.0 differs from the v1.0 spec in ../shared/specs/business-central in
what this module reads: addresses are flat fields (addressLine1, city,
state, country, postalCode) where v1.0 had a `address` complex value;
`contacts` and `contactsInformation` (a contact's business relation to a
customer) are new; salesInvoice `status` adds "Corrective" beside Draft, In
Review, Open, Paid and Canceled; lines name their item or account by
`lineObjectNumber`.

Only posted invoices are read (Open, Paid, Corrective): a Draft is not billed.
A posted invoice is never deleted in Business Central: it is cancelled
(a corrective credit memo, status "Canceled"), which arbridge archives.
Payments and credit memos made in Business Central reach arbridge through
the invoice's `remainingAmount` (the ledger's source adjustment). A
customer blocked for "All" is read as deleted. Business Central has no
billing flag on contacts: the customer's own e-mail (where its invoices are
sent) is its billing contact; person contacts related to the customer are
contacts, not billing ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

from arbridge.connectors.base import (
    Change,
    ContactRecord,
    CustomerRecord,
    InvoiceLineRecord,
    InvoiceRecord,
    Op,
    PermanentError,
    Rejected,
)
from arbridge.connectors.wire import Unreadable
from arbridge.connectors.wire import amount as money

Changes = list[Change | Rejected]
ZERO = Decimal("0.00")
BILLED = frozenset({"Open", "Paid", "Corrective"})
CANCELED = "Canceled"
# Document No. is Code[20] in Business Central; descriptions Text[100].
DOCUMENT_NUMBER_CHARS = 20
DESCRIPTION_CHARS = 100


def parse_time(value: Any) -> dt.datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def odata_time(moment: dt.datetime) -> str:
    """Return a moment as an OData datetime literal: UTC, to the millisecond, with Z."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def changed(entity: str, raw: dict[str, Any], remote_id: str, op: Op, record: Any = None) -> Change:
    updated = parse_time(raw.get("lastModifiedDateTime"))
    return Change(
        entity,
        remote_id,
        op,
        record,
        remote_version=updated.isoformat() if updated else "",
        remote_updated_at=updated,
        raw=raw,
    )


def day(raw: dict[str, Any], name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(raw.get(name))[:10])
    except ValueError:
        raise Unreadable(f"{name} is not a date: {raw.get(name)!r}") from None


# -- customers and contacts ---------------------------------------------------


def customer_changes(raw: dict[str, Any]) -> Changes:
    """Return a customer and its billing contact (its own e-mail); blocked for All: deleted."""
    customer_id = str(raw.get("id") or "")
    if raw.get("blocked") == "All":
        return [
            changed("customer", raw, customer_id, Op.DELETE),
            changed("contact", raw, f"{customer_id}:billing", Op.DELETE),
        ]
    name = str(raw.get("displayName") or "").strip()
    if not name:
        return [Rejected("customer", customer_id, "the customer has no displayName", raw)]
    email = str(raw.get("email") or "").strip()
    phone = str(raw.get("phoneNumber") or "").strip()
    record = CustomerRecord(
        name=name,
        email=email,
        phone=phone,
        billing_state=str(raw.get("state") or ""),
        billing_country=str(raw.get("country") or "")[:2].upper(),
    )
    billing = (
        ContactRecord(customer_remote_id=customer_id, name=name, email=email, phone=phone)
        if email
        else None
    )
    return [
        changed("customer", raw, customer_id, Op.UPSERT, record),
        changed(
            "contact", raw, f"{customer_id}:billing", Op.UPSERT if email else Op.DELETE, billing
        ),
    ]


def contact_changes(raw: dict[str, Any]) -> Changes:
    """Return a person contact related to a customer (contactsInformation), with an e-mail."""
    contact_id = str(raw.get("id") or "")
    customers = [
        str(info.get("relatedId"))
        for info in raw.get("contactsInformation") or []
        if info.get("relatedType") == "Customer" and info.get("relatedId")
    ]
    email = str(raw.get("email") or "").strip()
    if raw.get("type") != "Person" or not customers or not email:
        return [changed("contact", raw, contact_id, Op.DELETE)]
    record = ContactRecord(
        customer_remote_id=customers[0],
        name=str(raw.get("displayName") or ""),
        email=email,
        phone=str(raw.get("phoneNumber") or raw.get("mobilePhoneNumber") or ""),
        is_billing=False,
    )
    return [changed("contact", raw, contact_id, Op.UPSERT, record)]


# -- invoices -----------------------------------------------------------------


def invoice_changes(raw: dict[str, Any], *, full: bool, currency: str) -> Changes:
    """Return a posted sales invoice; a cancelled one (read by change) as a delete.

    `currency` is the company's own: Business Central leaves currencyCode
    blank on an invoice in it.
    """
    invoice_id = str(raw.get("id") or "")
    status = raw.get("status")
    if status == CANCELED:
        return [] if full else [changed("invoice", raw, invoice_id, Op.DELETE)]
    if status not in BILLED:
        return []
    try:
        lines = tuple(
            invoice_line(line)
            for line in raw.get("salesInvoiceLines") or []
            if line.get("lineType") != "Comment"
        )
        customer = raw.get("customerId")
        record = InvoiceRecord(
            number=str(raw.get("number") or invoice_id[:8]),
            customer_remote_id=str(customer) if customer else None,
            currency=str(raw.get("currencyCode") or currency),
            issue_date=day(raw, "invoiceDate"),
            due_date=day(raw, "dueDate") if raw.get("dueDate") else None,
            memo=str(raw.get("externalDocumentNumber") or ""),
            total=money(raw.get("totalAmountIncludingTax", 0), "totalAmountIncludingTax"),
            balance=money(raw.get("remainingAmount", 0), "remainingAmount"),
            lines=lines,
            has_pdf=False,
        )
    except (Unreadable, ValueError) as e:
        return [Rejected("invoice", invoice_id, str(e), raw)]
    return [changed("invoice", raw, invoice_id, Op.UPSERT, record)]


def invoice_line(raw: dict[str, Any]) -> InvoiceLineRecord:
    quantity = money(raw.get("quantity", 1), "quantity")
    unit = money(raw.get("unitPrice", 0), "unitPrice")
    amount = raw.get("amountIncludingTax")
    return InvoiceLineRecord(
        description=str(raw.get("description") or ""),
        item=str(raw.get("lineObjectNumber") or ""),
        quantity=quantity,
        unit_price=unit,
        amount=money(amount, "amountIncludingTax") if amount is not None else quantity * unit,
    )


# -- writing ------------------------------------------------------------------


def document_number(prefix: str, key: str) -> str:
    """Return the Document No. arbridge writes for a key: the same for the same key, 20 chars.

    Business Central has no idempotency key; this number is what arbridge
    looks up before writing, in the journal (not posted yet) and in the
    G/L entries (posted).
    """
    digest = hashlib.sha256(key.encode()).hexdigest().upper()
    return f"{prefix}{digest}"[:DOCUMENT_NUMBER_CHARS]


def payment_lines(payload: dict[str, Any], number: str) -> list[dict[str, Any]]:
    """Return the customer payment journal lines of a write-back: one per invoice paid."""
    allocations = payload.get("allocations") or []
    if not allocations:
        raise PermanentError("a Business Central payment must pay an invoice")
    reference = str(payload.get("reference") or "")[:35]
    return [
        {
            "postingDate": str(payload["date"]),
            "documentNumber": number,
            "externalDocumentNumber": reference,
            "amount": decimal(a["amount"], "allocation"),
            "appliesToInvoiceId": str(a["invoice_remote_id"]),
            "description": paid_description(
                str(payload["payment_id"]), str(a["invoice_remote_id"])
            ),
        }
        for a in allocations
    ]


def paid_description(payment_id: str, invoice_id: str) -> str:
    """Return a payment line's description: it names the invoice, for a reversal to read."""
    return f"arbridge {payment_id[:50]} on {invoice_id}"[:DESCRIPTION_CHARS]


def paid_invoice(description: str) -> str:
    """Return the invoice a payment line's description names ("" if none)."""
    head, on, invoice = description.rpartition(" on ")
    return invoice.strip() if on and head.startswith("arbridge ") else ""


def reversal_lines(posted: list[dict[str, Any]], number: str, date: str) -> list[dict[str, Any]]:
    """Return journal lines undoing posted payment lines: the same invoices, negative amounts.

    A posted entry cannot be deleted in Business Central; a reversing entry
    gives the invoice its balance back, which is what deleting means here.
    """
    return [
        {
            "postingDate": date,
            "documentNumber": number,
            "amount": -money(line["amount"], "amount"),
            "appliesToInvoiceId": str(line["appliesToInvoiceId"]),
            "description": paid_description(
                f"reversal of {line['documentNumber']}", str(line["appliesToInvoiceId"])
            ),
        }
        for line in posted
        if line.get("appliesToInvoiceId")
    ]


def deposit_lines(
    payload: dict[str, Any],
    number: str,
    *,
    bank: str,
    clearing: str,
    fee_account: str | None,
    surcharge_account: str | None,
) -> list[dict[str, Any]]:
    """Return a payout as general journal lines: the payout into the bank account, the fee
    on its own G/L line, the payments (and surcharges) out of the clearing account.

    Debits (positive) and credits (negative) add up to nothing.
    """
    payout = decimal(payload["payout"], "payout")
    fees = decimal(payload.get("fees") or "0", "fees")
    surcharges = decimal(payload.get("surcharges") or "0", "surcharges")
    if fees < 0:
        raise PermanentError(f"the payout's fees are negative ({fees})")
    if payout <= 0:
        raise PermanentError(f"the payout is not positive ({payout})")
    paid = sum((decimal(p["amount"], "payment amount") for p in payload["payments"]), ZERO)
    if payout + fees != paid + surcharges:
        raise PermanentError(
            f"the payout {payout} and its fees {fees} add up to {payout + fees}, not to its "
            f"payments' {paid} and surcharges' {surcharges}"
        )
    date = str(payload["date"])
    description = f"arbridge payout {payload['deposit_id']}"[:DESCRIPTION_CHARS]

    def line(account_type: str, account: str, amount: Decimal, what: str) -> dict[str, Any]:
        return {
            "accountType": account_type,
            "accountId": account,
            "postingDate": date,
            "documentNumber": number,
            "amount": amount,
            "description": f"{description}: {what}"[:DESCRIPTION_CHARS],
        }

    lines = [
        line("Bank Account", bank, payout, "payout"),
        line("G/L Account", clearing, -paid, "payments"),
    ]
    if fees:
        if not fee_account:
            raise PermanentError("no Business Central account is chosen for processing fees")
        lines.append(line("G/L Account", fee_account, fees, "processing fees"))
    if surcharges:
        if not surcharge_account:
            raise PermanentError("no Business Central account is chosen for surcharges")
        lines.append(line("G/L Account", surcharge_account, -surcharges, "surcharges"))
    return lines


def decimal(value: Any, name: str) -> Decimal:
    try:
        return money(value, name)
    except Unreadable as e:
        raise PermanentError(str(e)) from None
