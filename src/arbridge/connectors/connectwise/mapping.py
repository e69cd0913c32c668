"""ConnectWise records -> canonical records; pure functions.

Field names follow ../shared/specs/connectwise (Invoice, CompanyInfo). The
Contact schema was not transcribed; its fields (firstName, lastName,
communicationItems, defaultBillingFlag, inactiveFlag) are those of
ConnectWise's Contact model (spinen/laravel-connectwise-client, Company/Contact.php).
Neither was ProductItem, an invoice's product line (InvoiceInfo.products);
its fields (catalogItem, description, quantity, price, extPrice, invoice)
are those of ConnectWise's model (Jetbuilt/connect_wise docs/ProductItem.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from arbridge.connectors.base import (
    Change,
    ContactRecord,
    CustomerRecord,
    InvoiceLineRecord,
    InvoiceRecord,
    Op,
    Rejected,
)

CENT = Decimal("0.01")


def updated_at(raw: dict[str, Any]) -> dt.datetime | None:
    """Return a record's `_info.lastUpdated` as an aware UTC datetime."""
    stamp = (raw.get("_info") or {}).get("lastUpdated")
    if not stamp:
        return None
    moment = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def amount(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(CENT)


def day(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(str(value)[:10]) if value else None


def deleted(entity: str, remote_id: Any) -> Change:
    return Change(entity, str(remote_id), Op.DELETE)


def _change(entity: str, raw: dict[str, Any], build: Any) -> Change | Rejected:
    remote_id = str(raw.get("id", ""))
    try:
        record = build(raw)
        when = updated_at(raw)
    except (ValidationError, InvalidOperation, ValueError, TypeError, KeyError) as error:
        return Rejected(entity, remote_id, f"cannot read the {entity}: {error}", raw)
    version = when.isoformat() if when else ""
    if record is None:
        return Change(entity, remote_id, Op.DELETE, remote_version=version,
                      remote_updated_at=when, raw=raw)  # fmt: skip
    return Change(entity, remote_id, Op.UPSERT, record, version, when, raw)


def _customer(raw: dict[str, Any]) -> CustomerRecord | None:
    if raw.get("deletedFlag"):
        return None  # ConnectWise keeps a deleted company, flagged
    country = raw.get("country") or {}
    return CustomerRecord(
        name=str(raw["name"]),
        phone=raw.get("phoneNumber") or "",
        billing_state=raw.get("state") or "",
        billing_country=country.get("name") or "",
    )


def _communication(raw: dict[str, Any], kind: str) -> str:
    """Return a contact's default email or phone from its communicationItems."""
    items = [i for i in raw.get("communicationItems") or []
             if str(i.get("communicationType", "")).lower() == kind]  # fmt: skip
    items.sort(key=lambda item: not item.get("defaultFlag"))
    return str(items[0].get("value") or "") if items else ""


def _contact(raw: dict[str, Any]) -> ContactRecord | None:
    # Only billing contacts sync: a contact that is no longer one is taken back.
    if not raw.get("defaultBillingFlag") or raw.get("inactiveFlag"):
        return None
    name = " ".join(filter(None, (raw.get("firstName"), raw.get("lastName"))))
    return ContactRecord(
        customer_remote_id=str(raw["company"]["id"]),
        name=name,
        email=_communication(raw, "email"),
        phone=_communication(raw, "phone"),
        is_billing=True,
    )


def line(raw: dict[str, Any]) -> InvoiceLineRecord:
    """Return a product billed on an invoice as one of its lines."""
    return InvoiceLineRecord(
        description=str(raw.get("description") or ""),
        item=str((raw.get("catalogItem") or {}).get("identifier") or ""),
        quantity=Decimal(str(raw.get("quantity") if raw.get("quantity") is not None else 1)),
        unit_price=Decimal(str(raw.get("price") or 0)),
        amount=amount(raw.get("extPrice")),
    )


def _invoice(raw: dict[str, Any], products: Sequence[dict[str, Any]] = ()) -> InvoiceRecord:
    company = raw.get("company") or {}
    currency = raw.get("currency") or {}
    status = str((raw.get("status") or {}).get("name") or "")
    return InvoiceRecord(
        number=str(raw["invoiceNumber"]),
        customer_remote_id=str(company["id"]) if company.get("id") is not None else None,
        # CurrencyReference was not transcribed; ConnectWise's has currencyCode.
        currency=currency.get("currencyCode") or "USD",
        issue_date=day(raw["date"]),
        due_date=day(raw.get("dueDate")),
        terms=(raw.get("billingTerms") or {}).get("name") or "",
        memo=raw.get("reference") or raw.get("customerPO") or "",
        total=amount(raw.get("total")),
        balance=amount(raw.get("balance")),
        voided=status.lower() in ("void", "voided"),
        lines=tuple(line(product) for product in products),
        has_pdf=True,
    )


def customer_change(raw: dict[str, Any]) -> Change | Rejected:
    return _change("customer", raw, _customer)


def contact_change(raw: dict[str, Any]) -> Change | Rejected:
    return _change("contact", raw, _contact)


def invoice_change(
    raw: dict[str, Any], products: Sequence[dict[str, Any]] = ()
) -> Change | Rejected:
    """Return an invoice read with the products billed on it, in their order."""
    return _change("invoice", raw, lambda raw: _invoice(raw, products))


def payment_body(amount_paid: Any, date: str, reference: str) -> dict[str, Any]:
    """Return the InvoicePayment ConnectWise takes for a payment taken in arbridge."""
    return {
        "type": "Payment",
        "amount": Decimal(str(amount_paid)).quantize(CENT),
        "paymentDate": f"{str(date)[:10]}T00:00:00Z",
        # The spec's InvoicePayment has no memo: `source` is its only free text,
        # so it carries arbridge's reference, by which a retry finds the payment.
        "source": reference,
    }
