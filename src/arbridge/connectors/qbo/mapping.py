"""QuickBooks Online JSON <-> arbridge's canonical records; pure functions."""

from decimal import Decimal
from typing import Any

from pydantic import ValidationError

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
    Rejected,
)
from arbridge.connectors.qbo import models as qb

US = ("", "US", "USA", "United States")
# QuickBooks payment method names -> arbridge's methods.
METHODS = {
    "credit card": "card",
    "visa": "card",
    "mastercard": "card",
    "amex": "card",
    "american express": "card",
    "discover": "card",
    "check": "check",
    "cash": "cash",
    "ach": "ach",
    "e-check": "ach",
    "echeck": "ach",
    "bank transfer": "bank_transfer",
    "wire": "bank_transfer",
}


def _meta(entity: qb.Entity) -> dict[str, Any]:
    return {
        "remote_version": entity.SyncToken,
        "remote_updated_at": entity.MetaData.LastUpdatedTime,
    }


def _deleted(entity_name: str, entity: qb.Entity, raw: dict) -> Change:
    return Change(entity_name, entity.Id, Op.DELETE, None, raw=raw, **_meta(entity))


def customer_changes(raw: dict) -> list[Change | Rejected]:
    """Return the customer and its billing contact (QuickBooks' primary email)."""
    try:
        c = qb.Customer.model_validate(raw)
    except ValidationError as e:
        return [Rejected("customer", str(raw.get("Id", "")), _reason(e), raw)]
    contact_id = f"{c.Id}-billing"
    # QuickBooks never deletes a customer: "deleting" one makes it inactive.
    if c.is_deleted or not c.Active:
        return [_deleted("customer", c, raw), Change("contact", contact_id, Op.DELETE, raw=raw)]
    addr = c.BillAddr or qb.PhysicalAddress()
    is_us = addr.Country in US
    record = CustomerRecord(
        name=c.DisplayName or c.CompanyName or f"Customer {c.Id}",
        email=c.PrimaryEmailAddr.Address if c.PrimaryEmailAddr else "",
        phone=c.PrimaryPhone.FreeFormNumber if c.PrimaryPhone else "",
        billing_state=addr.CountrySubDivisionCode.upper()[:2] if is_us else "",
        billing_country="US" if is_us and addr.CountrySubDivisionCode else addr.Country[:2].upper(),
    )
    changes: list[Change | Rejected] = [
        Change("customer", c.Id, Op.UPSERT, record, raw=raw, **_meta(c))
    ]
    if record.email:
        contact = ContactRecord(
            customer_remote_id=c.Id,
            name=record.name,
            email=record.email,
            phone=record.phone,
            is_billing=True,
        )
        changes.append(Change("contact", contact_id, Op.UPSERT, contact, raw=raw, **_meta(c)))
    else:
        changes.append(Change("contact", contact_id, Op.DELETE, raw=raw))
    return changes


def invoice_changes(
    raw: dict, terms: dict[str, str], home_currency: str
) -> list[Change | Rejected]:
    try:
        inv = qb.Invoice.model_validate(raw) if raw.get("status") != "Deleted" else None
    except ValidationError as e:
        return [Rejected("invoice", str(raw.get("Id", "")), _reason(e), raw)]
    if inv is None:
        return [
            Change(
                "invoice",
                str(raw["Id"]),
                Op.DELETE,
                raw=raw,
                remote_version=str(raw.get("SyncToken", "")),
            )
        ]
    lines = tuple(
        InvoiceLineRecord(
            description=line.Description,
            item=line.SalesItemLineDetail.ItemRef.name
            if line.SalesItemLineDetail and line.SalesItemLineDetail.ItemRef
            else "",
            quantity=(
                line.SalesItemLineDetail.Qty
                if line.SalesItemLineDetail and line.SalesItemLineDetail.Qty is not None
                else Decimal(1)
            ),
            unit_price=(
                line.SalesItemLineDetail.UnitPrice
                if line.SalesItemLineDetail and line.SalesItemLineDetail.UnitPrice is not None
                else line.Amount
            ),
            amount=line.Amount,
        )
        for line in inv.Line
        if line.DetailType in ("SalesItemLineDetail", "DescriptionOnly", "DiscountLineDetail")
    )
    record = InvoiceRecord(
        number=inv.DocNumber or inv.Id,
        customer_remote_id=inv.CustomerRef.value if inv.CustomerRef else None,
        currency=inv.CurrencyRef.value if inv.CurrencyRef else home_currency,
        issue_date=inv.TxnDate,
        due_date=inv.DueDate,
        terms=terms.get(inv.SalesTermRef.value, inv.SalesTermRef.name) if inv.SalesTermRef else "",
        memo=_memo(inv.CustomerMemo),
        total=inv.TotalAmt,
        balance=inv.Balance,
        # A void is an update with TotalAmt 0 and "Voided" prepended to PrivateNote.
        voided=inv.TotalAmt == 0 and inv.PrivateNote.startswith("Voided"),
        lines=lines,
        has_pdf=True,
    )
    return [Change("invoice", inv.Id, Op.UPSERT, record, raw=raw, **_meta(inv))]


def payment_changes(raw: dict, home_currency: str) -> list[Change | Rejected]:
    """Return the payment, and a credit for each credit memo applied through it.

    A QuickBooks Payment applies cash and credit memos together: lines linked to
    invoices add up to the cash plus the credit memos' lines. The cash is
    allocated to the invoices in line order; what is left of each invoice line
    was settled by credit.
    """
    try:
        p = qb.Payment.model_validate(raw) if raw.get("status") != "Deleted" else None
    except ValidationError as e:
        return [Rejected("payment", str(raw.get("Id", "")), _reason(e), raw)]
    if p is None:
        return [
            Change(
                "payment",
                str(raw["Id"]),
                Op.DELETE,
                raw=raw,
                remote_version=str(raw.get("SyncToken", "")),
            )
        ]
    currency = p.CurrencyRef.value if p.CurrencyRef else home_currency
    cash = p.TotalAmt
    allocations, credits = [], []
    for line in p.Line:
        for txn in line.LinkedTxn:
            if txn.TxnType != "Invoice":
                continue
            from_cash = min(cash, line.Amount)
            cash -= from_cash
            if from_cash > 0:
                allocations.append(AllocationRecord(invoice_remote_id=txn.TxnId, amount=from_cash))
            if line.Amount > from_cash:
                credits.append((txn.TxnId, line.Amount - from_cash))
    method = (
        METHODS.get(p.PaymentMethodRef.name.lower(), "other") if p.PaymentMethodRef else "other"
    )
    record = PaymentRecord(
        customer_remote_id=p.CustomerRef.value if p.CustomerRef else None,
        amount=p.TotalAmt,
        currency=currency,
        date=p.TxnDate,
        method=method,
        reference=p.PaymentRefNum,
        allocations=tuple(allocations),
    )
    changes: list[Change | Rejected] = [
        Change("payment", p.Id, Op.UPSERT, record, raw=raw, **_meta(p))
    ]
    for invoice_id, amount in credits:
        credit = CreditRecord(
            invoice_remote_id=invoice_id,
            amount=amount,
            currency=currency,
            date=p.TxnDate,
            reference=f"Credit applied by payment {p.Id}",
        )
        changes.append(
            Change("credit", f"{p.Id}:{invoice_id}", Op.UPSERT, credit, raw=raw, **_meta(p))
        )
    return changes


def payment_body(payload: dict, customer_id: str, deposit_account_id: str | None) -> dict:
    """Return the QuickBooks Payment for an arbridge payment's allocations."""
    body: dict[str, Any] = {
        "CustomerRef": {"value": customer_id},
        "TotalAmt": str(payload["amount"]),
        "TxnDate": payload["date"],
        "PaymentRefNum": str(payload.get("reference", ""))[:21],
        "PrivateNote": f"arbridge payment {payload['payment_id']}",
        "Line": [
            {
                "Amount": str(a["amount"]),
                "LinkedTxn": [{"TxnId": a["invoice_remote_id"], "TxnType": "Invoice"}],
            }
            for a in payload["allocations"]
        ],
    }
    if deposit_account_id:
        body["DepositToAccountRef"] = {"value": deposit_account_id}
    return body


def _memo(value: qb.Ref | str | None) -> str:
    if isinstance(value, qb.Ref):
        return value.value
    return value or ""


def _reason(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'record'}: {err['msg']}"
        for err in error.errors()
    )
