"""Halo API JSON <-> arbridge's canonical records; pure functions.

Only billing contacts cross: a user is one when "Send accounts emails" is
ticked (Users.sendaccountsemails), it is active and it belongs to a client.
A client's own accounts address (Area.accountsemailaddress) is the
customer's email. Money Halo settles itself (its payments, its credit
notes) reaches arbridge as the invoice's amount remaining, not as records,
so arbridge's own payments written back are never read in again as new ones.
"""

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from arbridge.connectors.base import (
    Change,
    ContactRecord,
    CustomerRecord,
    InvoiceLineRecord,
    InvoiceRecord,
    Op,
    Rejected,
)
from arbridge.connectors.halopsa import models as halo

ZERO = Decimal(0)


def customer_change(raw: dict[str, Any]) -> Change | Rejected:
    """Return a Halo client as a customer."""
    client = _read(halo.Client, raw, "customer")
    if isinstance(client, Rejected):
        return client
    record = CustomerRecord(
        name=client.name.strip() or f"Client {client.id}",
        email=(client.accountsemailaddress or "").strip(),
        phone=(client.main_phonenumber or "").strip(),
    )
    return _upsert("customer", client.id, record, raw, client.alastupdate)


def contact_change(raw: dict[str, Any]) -> Change | Rejected:
    """Return a billing user as a contact, and any other user as a contact deleted."""
    user = _read(halo.User, raw, "contact")
    if isinstance(user, Rejected):
        return user
    if not user.is_billing:
        return deleted("contact", user.id, raw)
    record = ContactRecord(
        customer_remote_id=str(user.client_id),
        name=(user.name or "").strip(),
        email=(user.emailaddress or "").strip(),
        phone=(user.phonenumber or "").strip(),
        is_billing=True,
    )
    return _upsert("contact", user.id, record, raw, user.ulastupdate)


def invoice_change(raw: dict[str, Any]) -> Change | Rejected:
    """Return a Halo invoice (read with its lines) as an invoice."""
    invoice = _read(halo.Invoice, raw, "invoice")
    if isinstance(invoice, Rejected):
        return invoice
    if invoice.invoice_date is None:
        return Rejected("invoice", str(invoice.id), "invoice_date: the invoice has no date", raw)
    lines = [
        InvoiceLineRecord(
            description=line.item_shortdescription or line.item_longdescription or "",
            item=line.item_code or "",
            quantity=line.qty_order if line.qty_order is not None else Decimal(1),
            unit_price=line.unit_price if line.unit_price is not None else ZERO,
            amount=line.net_amount if line.net_amount is not None else ZERO,
        )
        for line in invoice.lines or []
    ]
    tax = sum((line.tax_amount or ZERO for line in invoice.lines or []), ZERO)
    if tax:
        # Halo keeps tax on each line; one line of its own makes the lines add up to the total.
        lines.append(InvoiceLineRecord(description="Tax", amount=tax))
    remaining = invoice.amount_remaining
    if remaining is None:
        remaining = invoice.amountdue
    if remaining is None:
        remaining = invoice.total - (invoice.amountpaid or ZERO)
    record = InvoiceRecord(
        number=invoice.invoicenumber or invoice.thirdpartyinvoicenumber or str(invoice.id),
        # No client: the connection's "unknown" customer.
        customer_remote_id=str(invoice.client_id) if invoice.client_id else None,
        currency=_currency(invoice.currency_code_name),
        issue_date=invoice.invoice_date.date(),
        due_date=invoice.duedate.date() if invoice.duedate else None,
        terms=invoice.qbo_term_name or "",
        memo=invoice.notes_1 or "",
        total=invoice.total,
        balance=ZERO if invoice.voided else max(remaining, ZERO),
        voided=bool(invoice.voided),
        lines=tuple(lines),
        has_pdf=True,
    )
    return _upsert("invoice", invoice.id, record, raw, invoice.last_modified)


def deleted(entity: str, remote_id: int | str, raw: Any = None) -> Change:
    """Return the change for a record gone from Halo (a contact: or no longer billing)."""
    return Change(entity, str(remote_id), Op.DELETE, raw=raw)


def payment_body(invoice_id: str, amount: str | Decimal, date: str, reference: str) -> dict:
    """Return the InvoicePayment that applies part of an arbridge payment to one invoice."""
    return {
        "invoice_id": int(invoice_id),
        "amount": Decimal(str(amount)),
        "date": f"{date}T00:00:00",
        # Halo has no idempotency key: this is what a retry looks for before writing again.
        "thirdpartyid": reference,
    }


def _currency(name: str | None) -> str:
    code = (name or "").strip().upper()
    return code if len(code) == 3 and code.isalpha() else "USD"


def _read(model: type[BaseModel], raw: Any, entity: str) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        remote_id = str(raw.get("id", "")) if isinstance(raw, dict) else ""
        reason = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'record'}: {err['msg']}"
            for err in error.errors()
        )
        return Rejected(entity, remote_id, reason, raw)


def _upsert(entity: str, remote_id: int, record: Any, raw: Any, updated: Any) -> Change:
    # Halo keeps no version number: the last-update stamp orders a record's versions.
    return Change(entity, str(remote_id), Op.UPSERT, record, remote_updated_at=updated, raw=raw)
