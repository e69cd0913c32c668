"""QuickBooks Online JSON <-> arbridge's canonical records; pure functions.

Reading: each function takes one object as QuickBooks serves it (a query
result, a CDC entry or a delete's tombstone) and returns its Changes, or a
Rejected when it cannot be read. Writing: `payment_body` and `deposit_body`
build what arbridge sends for a payment and a payout.

A credit memo applied in QuickBooks reaches arbridge as the invoice's lower
Balance (the ledger's source adjustment), not as a Credit record: QuickBooks
applies credit through a Payment, and when that payment is deleted its
tombstone names no invoice, so a Credit made from it could never be taken back.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from arbridge.connectors.base import (
    AllocationRecord,
    Change,
    ContactRecord,
    CustomerRecord,
    InvoiceRecord,
    Op,
    PaymentRecord,
    PermanentError,
    Rejected,
)
from arbridge.connectors.qbo import models as qb

HOME_CURRENCY = "USD"
ZERO = Decimal(0)
VOIDED = "Voided"  # what QuickBooks puts before a voided transaction's PrivateNote

# ISO 3166 alpha-2 codes for the ways QuickBooks users write the countries MSPs bill in.
COUNTRIES = {
    "us": "US", "usa": "US", "united states": "US", "united states of america": "US",
    "ca": "CA", "can": "CA", "canada": "CA",
    "gb": "GB", "gbr": "GB", "uk": "GB", "united kingdom": "GB",
    "au": "AU", "aus": "AU", "australia": "AU",
    "nz": "NZ", "nzl": "NZ", "new zealand": "NZ",
    "ie": "IE", "irl": "IE", "ireland": "IE",
}  # fmt: skip
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

Changes = list[Change | Rejected]
Line = dict[str, Any]  # an InvoiceLineRecord's fields


def is_deleted(raw: dict[str, Any]) -> bool:
    return raw.get("status") == "Deleted"


def tombstone(entity: str, raw: dict[str, Any]) -> Change:
    """Return the delete of an object QuickBooks reports deleted."""
    meta = qb.Metadata.model_validate(raw.get("MetaData") or {})
    return Change(
        entity, str(raw["Id"]), Op.DELETE, remote_updated_at=meta.LastUpdatedTime, raw=raw
    )


def version(entity: qb.Entity) -> dict[str, Any]:
    meta = entity.MetaData
    return {"remote_version": entity.SyncToken, "remote_updated_at": meta.LastUpdatedTime}


# -- customers ------------------------------------------------------------------


def customer_changes(raw: dict[str, Any]) -> Changes:
    """Return the customer and its billing contact, QuickBooks' primary email."""
    try:
        c = qb.Customer.model_validate(raw)
    except ValidationError as e:
        return [Rejected("customer", str(raw.get("Id", "")), reason(e), raw)]
    contact_id = f"{c.Id}-billing"
    # QuickBooks never deletes a customer: "deleting" one makes it inactive.
    if not c.Active:
        return [
            Change("customer", c.Id, Op.DELETE, raw=raw, **version(c)),
            Change("contact", contact_id, Op.DELETE, raw=raw, **version(c)),
        ]
    address = c.BillAddr or qb.PhysicalAddress()
    country = country_code(address.Country, address.CountrySubDivisionCode)
    # The field may hold several addresses, comma-separated; the first is the one billed.
    email = (c.PrimaryEmailAddr.Address if c.PrimaryEmailAddr else "").split(",")[0].strip()
    phone = c.PrimaryPhone.FreeFormNumber if c.PrimaryPhone else ""
    name = c.DisplayName or c.CompanyName or f"Customer {c.Id}"
    customer = CustomerRecord(
        name=name,
        email=email,
        phone=phone,
        billing_state=address.CountrySubDivisionCode.upper()[:2] if country == "US" else "",
        billing_country=country,
    )
    changes: Changes = [Change("customer", c.Id, Op.UPSERT, customer, raw=raw, **version(c))]
    if email:
        contact = ContactRecord(
            customer_remote_id=c.Id, name=name, email=email, phone=phone, is_billing=True
        )
        changes.append(Change("contact", contact_id, Op.UPSERT, contact, raw=raw, **version(c)))
    else:
        changes.append(Change("contact", contact_id, Op.DELETE, raw=raw, **version(c)))
    return changes


def country_code(country: str, state: str) -> str:
    """Return a billing address's ISO country code, or "" if it cannot be told."""
    country = country.strip()
    if not country:
        # US companies often leave the country out of domestic addresses.
        return "US" if len(state.strip()) == 2 else ""
    return COUNTRIES.get(country.lower(), country.upper() if len(country) == 2 else "")


# -- invoices -------------------------------------------------------------------


def invoice_changes(raw: dict[str, Any], terms: dict[str, str]) -> Changes:
    """Return the invoice, with its lines; `terms` names the company's terms by id."""
    if is_deleted(raw):
        return [tombstone("invoice", raw)]
    try:
        inv = qb.Invoice.model_validate(raw)
        record = InvoiceRecord(
            number=inv.DocNumber or inv.Id,
            customer_remote_id=inv.CustomerRef.value if inv.CustomerRef else None,
            currency=inv.CurrencyRef.value if inv.CurrencyRef else HOME_CURRENCY,
            issue_date=inv.TxnDate,
            due_date=inv.DueDate,
            terms=term_name(inv.SalesTermRef, terms),
            memo=memo(inv.CustomerMemo),
            total=inv.TotalAmt,
            balance=inv.Balance,
            # A void is an update: TotalAmt 0 and "Voided" before the PrivateNote.
            voided=inv.TotalAmt == 0 and inv.PrivateNote.startswith(VOIDED),
            lines=invoice_lines(inv),
            has_pdf=True,
        )
    except ValidationError as e:
        return [Rejected("invoice", str(raw.get("Id", "")), reason(e), raw)]
    return [Change("invoice", inv.Id, Op.UPSERT, record, raw=raw, **version(inv))]


def invoice_lines(inv: qb.Invoice) -> list[Line]:
    """Return the lines a customer sees, adding up to the total: items, discounts, tax.

    As InvoiceLineRecord fields: the InvoiceRecord they go into validates them
    all in one call, for a fraction of what a call per line costs.
    """
    lines = _sales_lines(inv.Line)
    tax = inv.TxnTaxDetail.TotalTax if inv.TxnTaxDetail else ZERO
    if tax:
        lines.append({"description": "Tax", "unit_price": tax, "amount": tax})
    return lines


def _sales_lines(lines: list[qb.SalesLine]) -> list[Line]:
    out = []
    for line in lines:
        if line.DetailType == "SalesItemLineDetail":
            detail = line.SalesItemLineDetail or qb.SalesItemDetail()
            quantity = detail.Qty if detail.Qty is not None else Decimal(1)
            out.append(
                {
                    "description": line.Description,
                    "item": detail.ItemRef.name if detail.ItemRef else "",
                    "quantity": quantity,
                    "unit_price": detail.UnitPrice if detail.UnitPrice is not None else line.Amount,
                    "amount": line.Amount,
                }
            )
        elif line.DetailType == "GroupLineDetail" and line.GroupLineDetail:
            # A bundle: its items carry the amounts (the group line's own may be 0).
            out.extend(_sales_lines(line.GroupLineDetail.Line))
        elif line.DetailType == "DiscountLineDetail":
            detail = line.DiscountLineDetail or qb.DiscountDetail()
            label = "Discount"
            if detail.PercentBased and detail.DiscountPercent is not None:
                label = f"Discount {detail.DiscountPercent.normalize():f}%"
            # QuickBooks writes the discount as a positive amount taken off the subtotal.
            out.append(
                {
                    "description": line.Description or label,
                    "unit_price": -line.Amount,
                    "amount": -line.Amount,
                }
            )
        elif line.DetailType == "DescriptionOnly":
            out.append({"description": line.Description, "amount": line.Amount})
        # SubTotalLineDetail repeats the lines above it: nothing to add.
    return out


def term_name(ref: qb.Ref | None, terms: dict[str, str]) -> str:
    if ref is None:
        return ""
    return terms.get(ref.value) or ref.name


def memo(value: qb.Ref | str | None) -> str:
    if isinstance(value, qb.Ref):
        return value.value
    return value or ""


# -- payments -------------------------------------------------------------------


def payment_changes(raw: dict[str, Any]) -> Changes:
    """Return the payment, allocated to the invoices it pays with money.

    A QuickBooks Payment may also apply credit memos: its invoice lines then add
    up to more than the money received. The money received and applied
    (TotalAmt less UnappliedAmt) is allocated to the invoice lines in their
    order; the rest of each line was paid by credit and shows in the invoice's
    Balance. A payment of nothing (credit applied alone, or voided) is no
    payment to arbridge, and is reported as deleted.
    """
    if is_deleted(raw):
        return [tombstone("payment", raw)]
    try:
        p = qb.Payment.model_validate(raw)
    except ValidationError as e:
        return [Rejected("payment", str(raw.get("Id", "")), reason(e), raw)]
    if p.TotalAmt == 0:
        return [Change("payment", p.Id, Op.DELETE, raw=raw, **version(p))]
    cash = p.TotalAmt - (p.UnappliedAmt or ZERO)
    allocations = []
    for line in p.Line:
        invoice = next((txn for txn in line.LinkedTxn if txn.TxnType == "Invoice"), None)
        if invoice is None:
            continue
        amount = min(cash, line.Amount)
        if amount > 0:
            allocations.append(AllocationRecord(invoice_remote_id=invoice.TxnId, amount=amount))
            cash -= amount
    method = p.PaymentMethodRef.name.lower() if p.PaymentMethodRef else ""
    record = PaymentRecord(
        customer_remote_id=p.CustomerRef.value if p.CustomerRef else None,
        amount=p.TotalAmt,
        currency=p.CurrencyRef.value if p.CurrencyRef else HOME_CURRENCY,
        date=p.TxnDate,
        method=METHODS.get(method, "other"),
        reference=p.PaymentRefNum,
        allocations=tuple(allocations),
    )
    return [Change("payment", p.Id, Op.UPSERT, record, raw=raw, **version(p))]


# -- writes ---------------------------------------------------------------------


def payment_body(payload: dict[str, Any]) -> dict[str, Any]:
    """Return the QuickBooks Payment for a payment taken in arbridge.

    DepositToAccountRef is left out, so QuickBooks receives the payment into
    Undeposited Funds: from there a payout's Deposit moves it to the bank, or
    the partner matches it to the bank feed by hand.
    """
    # Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/payment
    customer = payload.get("customer_remote_id")
    if not customer:
        raise PermanentError("the payment's customer is not in QuickBooks; it cannot be written")
    amount = decimal(payload["amount"], "amount")
    allocations = [
        (str(a["invoice_remote_id"]), decimal(a["amount"], "allocation"))
        for a in payload.get("allocations", ())
    ]
    if sum((allocated for _, allocated in allocations), ZERO) > amount:
        raise PermanentError(f"the allocations add up to more than the payment's {amount}")
    return {
        "CustomerRef": {"value": str(customer)},
        "TotalAmt": amount,
        "TxnDate": str(payload["date"]),
        "CurrencyRef": {"value": payload.get("currency") or HOME_CURRENCY},
        "PaymentRefNum": str(payload.get("reference") or "")[:21],
        "PrivateNote": f"arbridge payment {payload['payment_id']}",
        "Line": [
            {"Amount": allocated, "LinkedTxn": [{"TxnId": invoice, "TxnType": "Invoice"}]}
            for invoice, allocated in allocations
        ],
    }


def surcharge_lines(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the deposit line for the surcharges the payout carries, if any.

    A surcharge is not part of the payment written to the invoice, so it never
    reached Undeposited Funds: it is income, deposited to its own account.
    """
    surcharges = decimal(payload.get("surcharges") or "0", "surcharges")
    if not surcharges:
        return []
    if not (account := payload.get("surcharge_account_id")):
        raise PermanentError("no QuickBooks income account is chosen for surcharges")
    return [
        {
            "Amount": surcharges,
            "Description": "Card surcharges",
            "DetailType": "DepositLineDetail",
            "DepositLineDetail": {"AccountRef": {"value": str(account)}},
        }
    ]


def deposit_body(
    payload: dict[str, Any], deposit_account_id: str | None, fee_account_id: str | None
) -> dict[str, Any]:
    """Return the QuickBooks Deposit of a payout: its payments, less the processor's fees.

    Each payment leaves Undeposited Funds on a LinkedTxn line; the fees are one
    negative line to the fee account, and card surcharges one line to the
    surcharge income account. The lines must add up to the payout, or nothing
    is sent.
    """
    # Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/deposit
    if not deposit_account_id:
        raise PermanentError("no QuickBooks bank account is chosen for deposits")
    fees = decimal(payload.get("fees") or "0", "fees")
    payout = decimal(payload["payout"], "payout")
    lines: list[dict[str, Any]] = [
        {
            "Amount": decimal(p["amount"], "payment amount"),
            "LinkedTxn": [{"TxnId": str(p["remote_id"]), "TxnType": "Payment", "TxnLineId": "0"}],
        }
        for p in payload["payments"]
    ]
    if fees < 0:
        raise PermanentError(f"the payout's fees are negative ({fees})")
    if fees:
        if not fee_account_id:
            raise PermanentError("no QuickBooks account is chosen for processing fees")
        lines.append(
            {
                "Amount": -fees,
                "Description": "Payment processing fees",
                "DetailType": "DepositLineDetail",
                "DepositLineDetail": {"AccountRef": {"value": str(fee_account_id)}},
            }
        )
    lines += surcharge_lines(payload)
    total = sum((line["Amount"] for line in lines), ZERO)
    if total != payout:
        raise PermanentError(f"the deposit's lines add up to {total}, not the payout's {payout}")
    return {
        "DepositToAccountRef": {"value": str(deposit_account_id)},
        "TxnDate": str(payload["date"]),
        "CurrencyRef": {"value": payload.get("currency") or HOME_CURRENCY},
        "PrivateNote": f"arbridge payout {payload['deposit_id']}",
        "Line": lines,
    }


def decimal(value: Any, name: str) -> Decimal:
    """Return an amount from a command's payload (a string or number) as a Decimal."""
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        raise PermanentError(f"the {name} {value!r} is not an amount") from None
    if not amount.is_finite():
        raise PermanentError(f"the {name} {value!r} is not an amount")
    return amount


def reason(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'record'}: {err['msg']}"
        for err in error.errors()
    )
