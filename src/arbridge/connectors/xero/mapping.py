"""Xero's records as arbridge's canonical ones, and arbridge's writes as Xero's bodies.

# Reference: https://developer.xero.com/documentation/api/accounting/invoices
# Reference: https://developer.xero.com/documentation/api/accounting/contacts
# Reference: https://developer.xero.com/documentation/api/accounting/creditnotes
# Reference: https://developer.xero.com/documentation/api/accounting/payments
# Reference: https://developer.xero.com/documentation/api/accounting/banktransfers
# Reference: https://developer.xero.com/documentation/api/accounting/banktransactions

Only sales are read: ACCREC invoices, ACCRECCREDIT credit notes and
ACCRECPAYMENT payments. Xero never deletes outright: an invoice goes DELETED
(before approval) or VOIDED (after), a contact ARCHIVED, a payment DELETED;
the records stay listed with that status, so a change of status is how a
delete is read; a voided invoice is archived like a deleted one. A DRAFT or
SUBMITTED invoice is not billed yet and is not read.
"""

from __future__ import annotations

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
from arbridge.connectors.xero.client import parse_date

Changes = list[Change | Rejected]
ZERO = Decimal("0.00")
BILLED = frozenset({"AUTHORISED", "PAID"})
# Voided (after approval) or deleted (before): either way archived in arbridge.
GONE = frozenset({"DELETED", "VOIDED"})


def changed(entity: str, raw: dict[str, Any], remote_id: str, op: Op, record: Any = None) -> Change:
    updated = parse_date(raw.get("UpdatedDateUTC"))
    return Change(
        entity,
        remote_id,
        op,
        record,
        remote_version=updated.isoformat() if updated else "",
        remote_updated_at=updated,
        raw=raw,
    )


def day(raw: dict[str, Any], name: str):
    moment = parse_date(raw.get(f"{name}String")) or parse_date(raw.get(name))
    if moment is None:
        raise Unreadable(f"{name} is not a date: {raw.get(name)!r}")
    return moment.date()


# -- contacts -----------------------------------------------------------------


def contact_changes(raw: dict[str, Any]) -> Changes:
    """Return a contact as a customer, with its billing people as contacts.

    The billing people are the contact's own primary person (its FirstName,
    LastName and EmailAddress) and every ContactPerson with IncludeInEmails,
    as Xero emails invoices to exactly those. A contact that only supplies
    (IsSupplier and not IsCustomer) is not a customer.
    """
    contact_id = str(raw.get("ContactID") or "")
    if not contact_id:
        return [Rejected("customer", "", "the contact has no ContactID", raw)]
    if raw.get("IsSupplier") and not raw.get("IsCustomer"):
        return []
    persons = raw.get("ContactPersons") or []
    if raw.get("ContactStatus") == "ARCHIVED":
        gone = [changed("customer", raw, contact_id, Op.DELETE)]
        gone.append(changed("contact", raw, f"{contact_id}:primary", Op.DELETE))
        gone += [
            changed("contact", raw, f"{contact_id}:{n}", Op.DELETE) for n in range(len(persons))
        ]
        return gone
    name = str(raw.get("Name") or "").strip()
    if not name:
        return [Rejected("customer", contact_id, "the contact has no Name", raw)]
    address = billing_address(raw)
    phone = default_phone(raw)
    email = str(raw.get("EmailAddress") or "").strip()
    items: Changes = [
        changed(
            "customer",
            raw,
            contact_id,
            Op.UPSERT,
            CustomerRecord(
                name=name,
                email=email,
                phone=phone,
                billing_state=str(address.get("Region") or ""),
                billing_country=country_code(str(address.get("Country") or "")),
            ),
        )
    ]
    primary = " ".join(filter(None, (raw.get("FirstName"), raw.get("LastName")))) or name
    items.append(
        changed(
            "contact",
            raw,
            f"{contact_id}:primary",
            Op.UPSERT if email else Op.DELETE,
            ContactRecord(customer_remote_id=contact_id, name=primary, email=email, phone=phone)
            if email
            else None,
        )
    )
    for n, person in enumerate(persons):
        person_email = str(person.get("EmailAddress") or "").strip()
        if person.get("IncludeInEmails") and person_email:
            person_name = " ".join(filter(None, (person.get("FirstName"), person.get("LastName"))))
            record = ContactRecord(
                customer_remote_id=contact_id, name=person_name, email=person_email
            )
            items.append(changed("contact", raw, f"{contact_id}:{n}", Op.UPSERT, record))
        else:
            items.append(changed("contact", raw, f"{contact_id}:{n}", Op.DELETE))
    return items


def billing_address(raw: dict[str, Any]) -> dict[str, Any]:
    """Return the address Xero prints on invoices: POBOX, else the first."""
    addresses = [a for a in raw.get("Addresses") or [] if isinstance(a, dict)]
    for address in addresses:
        if address.get("AddressType") == "POBOX" and any(address.get(k) for k in address):
            return address
    return addresses[0] if addresses else {}


def default_phone(raw: dict[str, Any]) -> str:
    for phone in raw.get("Phones") or []:
        if phone.get("PhoneType") == "DEFAULT" and phone.get("PhoneNumber"):
            parts = (phone.get("PhoneAreaCode"), phone.get("PhoneNumber"))
            return " ".join(str(p) for p in parts if p)
    return ""


COUNTRIES = {
    "united states": "US",
    "usa": "US",
    "united kingdom": "GB",
    "uk": "GB",
    "australia": "AU",
    "new zealand": "NZ",
    "canada": "CA",
    "ireland": "IE",
    "south africa": "ZA",
}


def country_code(country: str) -> str:
    """Return Xero's free-text country as an ISO code where it is one arbridge knows."""
    text = country.strip()
    if len(text) == 2:
        return text.upper()
    return COUNTRIES.get(text.lower(), text[:2].upper() if text else "")


# -- invoices -----------------------------------------------------------------


def invoice_changes(raw: dict[str, Any], *, full: bool) -> Changes:
    """Return a sales invoice; a VOIDED or DELETED one (read by change) as a delete.

    The delete archives the invoice in arbridge, as a voided or deleted
    invoice should be. A full read leaves those out: arbridge never held them.
    """
    invoice_id = str(raw.get("InvoiceID") or "")
    if raw.get("Type") != "ACCREC":
        return []
    status = raw.get("Status")
    if status in GONE:
        return [] if full else [changed("invoice", raw, invoice_id, Op.DELETE)]
    if status not in BILLED:
        return []
    try:
        contact = (raw.get("Contact") or {}).get("ContactID")
        lines = tuple(invoice_line(line) for line in raw.get("LineItems") or [])
        record = InvoiceRecord(
            number=str(raw.get("InvoiceNumber") or invoice_id[:8]),
            customer_remote_id=str(contact) if contact else None,
            currency=str(raw.get("CurrencyCode") or "USD"),
            issue_date=day(raw, "Date"),
            due_date=day(raw, "DueDate") if raw.get("DueDate") else None,
            memo=str(raw.get("Reference") or ""),
            total=money(raw.get("Total", 0), "Total"),
            balance=money(raw.get("AmountDue", 0), "AmountDue"),
            lines=lines,
            has_pdf=False,
        )
    except (Unreadable, ValueError) as e:
        return [Rejected("invoice", invoice_id, str(e), raw)]
    return [changed("invoice", raw, invoice_id, Op.UPSERT, record)]


def invoice_line(raw: dict[str, Any]) -> InvoiceLineRecord:
    quantity = money(raw.get("Quantity", 1), "Quantity")
    unit = money(raw.get("UnitAmount", 0), "UnitAmount")
    amount = raw.get("LineAmount")
    return InvoiceLineRecord(
        description=str(raw.get("Description") or ""),
        item=str(raw.get("ItemCode") or ""),
        quantity=quantity,
        unit_price=unit,
        amount=money(amount, "LineAmount") if amount is not None else quantity * unit,
    )


# -- credit notes and payments --------------------------------------------------


def credit_changes(raw: dict[str, Any], *, full: bool) -> Changes:
    """Return each allocation of a sales credit note to an invoice as a credit.

    An allocation's id is its AllocationID, or the credit note and invoice it joins.
    """
    credit_id = str(raw.get("CreditNoteID") or "")
    if raw.get("Type") != "ACCRECCREDIT":
        return []
    items: Changes = []
    for allocation in raw.get("Allocations") or []:
        invoice_id = str((allocation.get("Invoice") or {}).get("InvoiceID") or "")
        remote_id = str(allocation.get("AllocationID") or f"{credit_id}:{invoice_id}")
        if raw.get("Status") in ("VOIDED", "DELETED") or allocation.get("IsDeleted"):
            if not full:
                items.append(changed("credit", raw, remote_id, Op.DELETE))
            continue
        try:
            record = CreditRecord(
                invoice_remote_id=invoice_id,
                amount=money(allocation.get("Amount"), "Amount"),
                currency=str(raw.get("CurrencyCode") or "USD"),
                date=day(allocation, "Date") if allocation.get("Date") else day(raw, "Date"),
                reference=str(raw.get("CreditNoteNumber") or ""),
            )
        except (Unreadable, ValueError) as e:
            items.append(Rejected("credit", remote_id, str(e), raw))
            continue
        items.append(changed("credit", raw, remote_id, Op.UPSERT, record))
    return items


def payment_changes(raw: dict[str, Any], *, full: bool) -> Changes:
    """Return a payment received against a sales invoice; a DELETED one as a delete."""
    payment_id = str(raw.get("PaymentID") or "")
    if raw.get("PaymentType", "ACCRECPAYMENT") != "ACCRECPAYMENT":
        return []
    if raw.get("Status") == "DELETED":
        return [] if full else [changed("payment", raw, payment_id, Op.DELETE)]
    invoice = raw.get("Invoice") or {}
    try:
        amount = money(raw.get("Amount"), "Amount")
        contact = (invoice.get("Contact") or {}).get("ContactID")
        record = PaymentRecord(
            customer_remote_id=str(contact) if contact else None,
            amount=amount,
            currency=str(invoice.get("CurrencyCode") or "USD"),
            date=day(raw, "Date"),
            method="other",
            reference=str(raw.get("Reference") or ""),
            allocations=(
                AllocationRecord(invoice_remote_id=str(invoice["InvoiceID"]), amount=amount),
            ),
        )
    except (Unreadable, ValueError, KeyError) as e:
        return [Rejected("payment", payment_id, str(e), raw)]
    return [changed("payment", raw, payment_id, Op.UPSERT, record)]


# -- writing ------------------------------------------------------------------


def payment_bodies(payload: dict[str, Any], account_code: str) -> list[dict[str, Any]]:
    """Return the Payments of a write-back: one per invoice paid, into `account_code`."""
    allocations = payload.get("allocations") or []
    if not allocations:
        raise PermanentError("a Xero payment must pay an invoice")
    reference = str(payload.get("reference") or f"arbridge {payload['payment_id']}")
    return [
        {
            "Invoice": {"InvoiceID": str(a["invoice_remote_id"])},
            "Account": {"Code": account_code},
            "Date": str(payload["date"]),
            "Amount": decimal(a["amount"], "allocation"),
            "Reference": reference[:255],
        }
        for a in allocations
    ]


def deposit_bodies(
    payload: dict[str, Any],
    *,
    clearing: str,
    bank: str,
    fee_account: str | None,
    fee_contact: str,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Return a payout as a bank transfer from clearing to bank and a spend of its fees.

    The payments it pays out are in the clearing account; the transfer moves
    the payout to the bank and the spend takes the fees out of clearing, so
    the two add up to the payments exactly and clearing is left at nothing.
    """
    payout = decimal(payload["payout"], "payout")
    fees = decimal(payload.get("fees") or "0", "fees")
    if fees < 0:
        raise PermanentError(f"the payout's fees are negative ({fees})")
    if payout <= 0:
        raise PermanentError(f"the payout is not positive ({payout})")
    paid = sum((decimal(p["amount"], "payment amount") for p in payload["payments"]), ZERO)
    if payout + fees != paid:
        raise PermanentError(
            f"the payout {payout} and its fees {fees} add up to {payout + fees}, "
            f"not to its payments' {paid}"
        )
    date = str(payload["date"])
    reference = f"arbridge payout {payload['deposit_id']}"
    transfer = {
        "FromBankAccount": {"Code": clearing},
        "ToBankAccount": {"Code": bank},
        "Amount": payout,
        "Date": date,
        "Reference": reference,
    }
    if not fees:
        return transfer, None
    if not fee_account:
        raise PermanentError("no Xero account is chosen for processing fees")
    spend = {
        "Type": "SPEND",
        "Contact": {"Name": fee_contact},
        "BankAccount": {"Code": clearing},
        "Date": date,
        "Reference": reference,
        "LineAmountTypes": "NoTax",
        "LineItems": [
            {
                "Description": "Payment processing fees",
                "Quantity": Decimal(1),
                "UnitAmount": fees,
                "AccountCode": fee_account,
                "LineAmount": fees,
            }
        ],
    }
    return transfer, spend


def decimal(value: Any, name: str) -> Decimal:
    try:
        return money(value, name)
    except Unreadable as e:
        raise PermanentError(str(e)) from None
