"""QuickBooks Desktop's qbXML records as arbridge's canonical ones, and its writes as qbXML.

# Reference: https://developer.intuit.com/app/developer/qbdesktop/docs/api-reference/qbdesktop/invoicequery
# Reference: https://developer.intuit.com/app/developer/qbdesktop/docs/api-reference/qbdesktop/customerquery
# Reference: https://developer.intuit.com/app/developer/qbdesktop/docs/api-reference/qbdesktop/creditmemoquery
# Reference: https://developer.intuit.com/app/developer/qbdesktop/docs/api-reference/qbdesktop/receivepaymentadd
# Reference: https://developer.intuit.com/app/developer/qbdesktop/docs/api-reference/qbdesktop/depositadd

Ids are QuickBooks' own: a customer's ListID, a transaction's TxnID; the
version is the record's EditSequence. A customer made inactive is read as
deleted (QuickBooks keeps a customer with transactions; inactive is how one
is retired). A voided invoice keeps its lines at zero and a memo starting
"VOID:". A credit memo reaches arbridge as one credit per invoice it is
linked to (`<credit TxnID>:<invoice TxnID>`), so a link undone, or the memo
deleted, deletes exactly those.

QuickBooks Desktop has no idempotency key. What arbridge writes carries its
own mark: a payment's RefNumber is `mark(key)` (20 characters at most) and
its memo ends with the command's key; a deposit, which has no RefNumber,
carries the key in its memo. Before any add, the connector looks for that
mark, so an add whose answer was lost is found, never made twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

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
from arbridge.connectors.qbd.qbxml import amount, date, each, element, message, ref, text, timestamp

Changes = list[Change | Rejected]
MEMO_MARK = "arbridge"
METHODS = {"card": "Credit Card", "ach": "E-Check"}


def changed(entity: str, row: etree._Element, remote_id: str, op: Op, record: Any = None) -> Change:
    return Change(
        entity=entity,
        remote_id=remote_id,
        op=op,
        record=record,
        remote_version=text(row, "EditSequence"),
        remote_updated_at=timestamp(row, "TimeModified"),
    )


def raw(row: etree._Element) -> str:
    return etree.tostring(row, encoding="unicode")


def customer_changes(row: etree._Element) -> Changes:
    """Return a customer and its billing contact (the customer's Contact and Email)."""
    list_id = text(row, "ListID")
    if not list_id:
        return [Rejected("customer", "", "the customer has no ListID", raw(row))]
    contact_id = f"{list_id}:billing"
    if text(row, "IsActive", "true") == "false":
        return [
            changed("customer", row, list_id, Op.DELETE),
            changed("contact", row, contact_id, Op.DELETE),
        ]
    name = text(row, "FullName") or text(row, "Name")
    if not name:
        return [Rejected("customer", list_id, "the customer has no Name", raw(row))]
    email, phone = text(row, "Email"), text(row, "Phone")
    country = text(row, "BillAddress/Country")
    customer = CustomerRecord(
        name=name,
        email=email,
        phone=phone,
        billing_state=text(row, "BillAddress/State"),
        # A two-letter code as typed; a country's name is not guessed at.
        billing_country=country.upper() if len(country) == 2 else "",
    )
    items: Changes = [changed("customer", row, list_id, Op.UPSERT, customer)]
    if email:
        person = text(row, "Contact") or name
        contact = ContactRecord(customer_remote_id=list_id, name=person, email=email, phone=phone)
        items.append(changed("contact", row, contact_id, Op.UPSERT, contact))
    else:
        items.append(changed("contact", row, contact_id, Op.DELETE))
    return items


def invoice_changes(row: etree._Element) -> Changes:
    """Return an invoice with its lines; total is Subtotal plus SalesTaxTotal."""
    txn_id = text(row, "TxnID")
    try:
        lines = tuple(invoice_line(line) for line in each(row, "InvoiceLineRet"))
        total = amount(row, "Subtotal") + amount(row, "SalesTaxTotal")
        memo = text(row, "Memo")
        record = InvoiceRecord(
            number=text(row, "RefNumber") or text(row, "TxnNumber") or txn_id,
            customer_remote_id=text(row, "CustomerRef/ListID") or None,
            currency=currency(row),
            issue_date=date(row, "TxnDate"),
            due_date=date(row, "DueDate"),
            terms=text(row, "TermsRef/FullName"),
            memo=memo,
            total=total,
            balance=amount(row, "BalanceRemaining"),
            voided=memo.startswith("VOID:") and total == 0,
            lines=lines,
        )
    except (ValueError, InvalidOperation, TypeError) as e:
        return [Rejected("invoice", txn_id, f"unreadable invoice: {e}", raw(row))]
    return [changed("invoice", row, txn_id, Op.UPSERT, record)]


def invoice_line(line: etree._Element) -> InvoiceLineRecord:
    quantity = text(line, "Quantity")
    rate = text(line, "Rate")
    return InvoiceLineRecord(
        description=text(line, "Desc"),
        item=text(line, "ItemRef/FullName"),
        quantity=Decimal(quantity) if quantity else Decimal(1),
        unit_price=Decimal(rate) if rate else amount(line, "Amount"),
        amount=amount(line, "Amount"),
    )


def currency(row: etree._Element) -> str:
    # Multicurrency files name it ("US Dollar"); a home-currency file names none.
    return {"US Dollar": "USD", "Canadian Dollar": "CAD", "British Pound Sterling": "GBP"}.get(
        text(row, "CurrencyRef/FullName"), "USD"
    )


def credit_changes(row: etree._Element, held: Iterable[str] = ()) -> Changes:
    """Return a credit memo's links to invoices as credits; links held but gone as deletes."""
    txn_id = text(row, "TxnID")
    items: Changes = []
    seen = set()
    for link in each(row, "LinkedTxn"):
        if text(link, "TxnType") != "Invoice":
            continue
        remote_id = f"{txn_id}:{text(link, 'TxnID')}"
        seen.add(remote_id)
        try:
            record = CreditRecord(
                invoice_remote_id=text(link, "TxnID"),
                amount=abs(amount(link, "Amount")),
                currency=currency(row),
                date=date(link, "TxnDate") or date(row, "TxnDate"),
                reference=text(row, "RefNumber"),
            )
        except (ValueError, InvalidOperation, TypeError) as e:
            items.append(Rejected("credit", remote_id, f"unreadable credit memo: {e}", raw(row)))
            continue
        items.append(changed("credit", row, remote_id, Op.UPSERT, record))
    for remote_id in held:
        if remote_id.startswith(f"{txn_id}:") and remote_id not in seen:
            items.append(changed("credit", row, remote_id, Op.DELETE))
    return items


def payment_changes(row: etree._Element) -> Changes:
    """Return a received payment with the invoices it was applied to."""
    txn_id = text(row, "TxnID")
    try:
        allocations = tuple(
            AllocationRecord(invoice_remote_id=text(a, "TxnID"), amount=amount(a, "Amount"))
            for a in each(row, "AppliedToTxnRet")
            if text(a, "TxnType", "Invoice") == "Invoice"
        )
        record = PaymentRecord(
            customer_remote_id=text(row, "CustomerRef/ListID") or None,
            amount=amount(row, "TotalAmount"),
            currency=currency(row),
            date=date(row, "TxnDate"),
            method="other",
            reference=text(row, "RefNumber"),
            allocations=allocations,
        )
    except (ValueError, InvalidOperation, TypeError) as e:
        return [Rejected("payment", txn_id, f"unreadable payment: {e}", raw(row))]
    return [changed("payment", row, txn_id, Op.UPSERT, record)]


def deleted_changes(row: etree._Element, held_credits: Iterable[str] = ()) -> Changes:
    """Return a TxnDeletedRet or ListDeletedRet as the deletes it means."""
    kind = text(row, "TxnDelType") or text(row, "ListDelType")
    remote_id = text(row, "TxnID") or text(row, "ListID")
    at = timestamp(row, "TimeDeleted")
    if kind == "Customer":
        return [
            Change("customer", remote_id, Op.DELETE, remote_updated_at=at),
            Change("contact", f"{remote_id}:billing", Op.DELETE, remote_updated_at=at),
        ]
    if kind == "CreditMemo":
        prefix = f"{remote_id}:"
        return [
            Change("credit", held, Op.DELETE, remote_updated_at=at)
            for held in held_credits
            if held.startswith(prefix)
        ]
    entity = {"Invoice": "invoice", "ReceivePayment": "payment"}.get(kind)
    return [Change(entity, remote_id, Op.DELETE, remote_updated_at=at)] if entity else []


# -- writing --------------------------------------------------------------------


def mark(key: str) -> str:
    """Return the RefNumber arbridge gives what it writes under a key (QuickBooks allows 20)."""
    return "AB" + hashlib.sha256(key.encode()).hexdigest()[:18].upper()


def memo(key: str, words: str = "") -> str:
    return f"{words} [{MEMO_MARK} {key}]".strip()


def is_marked(row: etree._Element, key: str) -> bool:
    return f"[{MEMO_MARK} {key}]" in text(row, "Memo")


def money(value: Any, name: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError):
        raise PermanentError(f"the command's {name} is not an amount: {value!r}") from None


def receive_payment_add(payload: dict[str, Any], key: str, deposit_to: str | None) -> str:
    """Return the ReceivePaymentAddRq of a payment taken in arbridge, applied to its invoices."""
    customer = payload.get("customer_remote_id")
    if not customer:
        raise PermanentError("the payment names no QuickBooks customer (customer_remote_id)")
    allocations = payload.get("allocations") or []
    if not allocations:
        raise PermanentError("the payment is applied to no invoice")
    words = " ".join(filter(None, ("Paid through arbridge", payload.get("reference"))))
    method = METHODS.get(str(payload.get("method") or ""))
    add = element(
        "ReceivePaymentAdd",
        ref("CustomerRef", list_id=str(customer)),
        element("TxnDate", text=str(payload["date"])),
        element("RefNumber", text=mark(key)),
        element("TotalAmount", text=money(payload["amount"], "amount")),
        ref("PaymentMethodRef", full_name=method),
        element("Memo", text=memo(key, words)),
        ref("DepositToAccountRef", full_name=deposit_to),
        *(
            element(
                "AppliedToTxnAdd",
                element("TxnID", text=str(a["invoice_remote_id"])),
                element("PaymentAmount", text=money(a["amount"], "allocation amount")),
            )
            for a in allocations
        ),
    )
    return message(element("ReceivePaymentAddRq", add))


def deposit_add(payload: dict[str, Any], key: str, *, bank: str, fee_account: str | None) -> str:
    """Return the DepositAddRq moving a payout's payments from Undeposited Funds to the bank.

    Each payment is a line by its TxnID; fees are one negative line to the fee
    account; surcharges a positive line to their income account.
    """
    lines = [
        element("DepositLineAdd", element("PaymentTxnID", text=str(p["remote_id"])))
        for p in payload.get("payments") or []
    ]
    fees = money(payload.get("fees") or "0", "fees")
    if fees:
        if not fee_account:
            raise PermanentError("no QuickBooks account is chosen for processing fees")
        lines.append(
            element(
                "DepositLineAdd",
                ref("AccountRef", full_name=fee_account),
                element("Memo", text="Processing fees"),
                element("Amount", text=-fees),
            )
        )
    surcharges = money(payload.get("surcharges") or "0", "surcharges")
    if surcharges:
        account = payload.get("surcharge_account_id")
        if not account:
            raise PermanentError("no QuickBooks account is chosen for surcharge income")
        lines.append(
            element(
                "DepositLineAdd",
                ref("AccountRef", full_name=str(account)),
                element("Memo", text="Surcharges"),
                element("Amount", text=surcharges),
            )
        )
    if not lines:
        raise PermanentError("the deposit has no lines")
    add = element(
        "DepositAdd",
        element("TxnDate", text=str(payload["date"])),
        ref("DepositToAccountRef", full_name=bank),
        element("Memo", text=memo(key, "Payout")),
        *lines,
    )
    return message(element("DepositAddRq", add))


def deposit_lookup(payload: dict[str, Any], bank: str) -> str:
    """Return a DepositQueryRq for the bank's deposits on the payout's date (memo checked after)."""
    day = dt.date.fromisoformat(str(payload["date"]))
    query = element(
        "DepositQueryRq",
        element(
            "TxnDateRangeFilter",
            element("FromTxnDate", text=day),
            element("ToTxnDate", text=day),
        ),
        element("AccountFilter", element("FullName", text=bank)),
    )
    return message(query)
