"""Sage Intacct's CUSTOMER, ARINVOICE and ARINVOICEITEM records as canonical changes.

# Reference: https://developer.intacct.com/api/accounts-receivable/customers/
# Reference: https://developer.intacct.com/api/accounts-receivable/invoices/
# Reference: https://developer.intacct.com/web-services/queries/

readByQuery answers with one element per record, its fields as child
elements (a dotted field such as BILLTO.EMAIL1 nested: BILLTO/EMAIL1), dates
as MM/DD/YYYY and timestamps as MM/DD/YYYY HH:MM:SS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from lxml import etree

from arbridge.connectors.base import (
    Change,
    ContactRecord,
    CustomerRecord,
    InvoiceLineRecord,
    InvoiceRecord,
    Op,
    Rejected,
)

CUSTOMER_FIELDS = (
    "RECORDNO",
    "CUSTOMERID",
    "NAME",
    "STATUS",
    "CURRENCY",
    "BILLTO.CONTACTNAME",
    "BILLTO.PRINTAS",
    "BILLTO.EMAIL1",
    "BILLTO.PHONE1",
    "BILLTO.MAILADDRESS.STATE",
    "BILLTO.MAILADDRESS.COUNTRYCODE",
    "WHENMODIFIED",
)
INVOICE_FIELDS = (
    "RECORDNO",
    "RECORDID",
    "CUSTOMERID",
    "STATE",
    "CURRENCY",
    "WHENCREATED",
    "WHENDUE",
    "TERMNAME",
    "DESCRIPTION",
    "TOTALENTERED",
    "TOTALDUE",
    "WHENMODIFIED",
)
LINE_FIELDS = ("RECORDNO", "RECORDKEY", "LINE_NO", "ENTRYDESCRIPTION", "ITEMID", "AMOUNT")
# An invoice Intacct reversed (voided) stays, marked so.
VOIDED_STATES = frozenset({"Reversed", "Reversal"})


def field(record: etree._Element, name: str) -> str:
    found = record.find(name.replace(".", "/"))
    if found is None:
        found = record.find(name)
    return (found.text or "").strip() if found is not None and found.text else ""


def parse_date(value: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.datetime.strptime(value[:10], "%m/%d/%Y").date()
    except ValueError:
        return dt.date.fromisoformat(value[:10])


def parse_stamp(value: str) -> dt.datetime | None:
    """Return a WHENMODIFIED timestamp (taken as UTC) or an ISO one, or None."""
    if not value:
        return None
    try:
        stamp = dt.datetime.strptime(value, "%m/%d/%Y %H:%M:%S")
    except ValueError:
        stamp = dt.datetime.fromisoformat(value)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def query_stamp(moment: dt.datetime) -> str:
    """Return a moment as a query's timestamp literal."""
    return moment.astimezone(dt.UTC).strftime("%m/%d/%Y %H:%M:%S")


def money(value: str) -> Decimal:
    try:
        return Decimal(value or "0")
    except InvalidOperation as e:
        raise ValueError(f"not an amount: {value!r}") from e


def version(record: etree._Element, raw: str) -> str:
    """Return a record's version: WHENMODIFIED and a digest of what it holds.

    WHENMODIFIED counts whole seconds, so two changes within one second share
    it; the digest tells them apart.
    """
    digest = hashlib.sha256(raw.encode()).hexdigest()[:12]
    return f"{field(record, 'WHENMODIFIED')}#{digest}"


def customer_changes(record: etree._Element) -> Iterator[Change | Rejected]:
    """Return a customer and its bill-to contact; an inactive customer is deleted (archived)."""
    remote_id = field(record, "CUSTOMERID")
    raw = etree.tostring(record, encoding="unicode")
    if not remote_id:
        yield Rejected("customer", field(record, "RECORDNO"), "a customer with no CUSTOMERID", raw)
        return
    updated = parse_stamp(field(record, "WHENMODIFIED"))
    stamp = version(record, raw)
    if field(record, "STATUS").lower() == "inactive":
        yield Change("customer", remote_id, Op.DELETE, remote_updated_at=updated, raw=raw)
        yield Change("contact", f"{remote_id}:billing", Op.DELETE, remote_updated_at=updated)
        return
    email = field(record, "BILLTO.EMAIL1")
    phone = field(record, "BILLTO.PHONE1")
    customer = CustomerRecord(
        name=field(record, "NAME") or remote_id,
        email=email,
        phone=phone,
        billing_state=field(record, "BILLTO.MAILADDRESS.STATE"),
        billing_country=field(record, "BILLTO.MAILADDRESS.COUNTRYCODE"),
    )
    yield Change("customer", remote_id, Op.UPSERT, customer, stamp, updated, raw)
    contact_name = field(record, "BILLTO.CONTACTNAME") or field(record, "BILLTO.PRINTAS")
    if email or contact_name:
        contact = ContactRecord(
            customer_remote_id=remote_id, name=contact_name, email=email, phone=phone
        )
        yield Change("contact", f"{remote_id}:billing", Op.UPSERT, contact, stamp, updated)
    else:
        yield Change("contact", f"{remote_id}:billing", Op.DELETE, remote_updated_at=updated)


def line_record(record: etree._Element) -> InvoiceLineRecord:
    amount = money(field(record, "AMOUNT"))
    return InvoiceLineRecord(
        description=field(record, "ENTRYDESCRIPTION"),
        item=field(record, "ITEMID"),
        quantity=Decimal(1),
        unit_price=amount,
        amount=amount,
    )


def invoice_change(
    record: etree._Element, lines: list[etree._Element], *, currency: str
) -> Change | Rejected:
    remote_id = field(record, "RECORDNO")
    raw = etree.tostring(record, encoding="unicode")
    try:
        issued = parse_date(field(record, "WHENCREATED"))
        if issued is None:
            raise ValueError("no WHENCREATED date")
        ordered = sorted(lines, key=lambda line: int(field(line, "LINE_NO") or 0))
        invoice = InvoiceRecord(
            number=field(record, "RECORDID") or remote_id,
            customer_remote_id=field(record, "CUSTOMERID") or None,
            currency=field(record, "CURRENCY") or currency,
            issue_date=issued,
            due_date=parse_date(field(record, "WHENDUE")),
            terms=field(record, "TERMNAME"),
            memo=field(record, "DESCRIPTION"),
            total=money(field(record, "TOTALENTERED")),
            balance=money(field(record, "TOTALDUE")),
            voided=field(record, "STATE") in VOIDED_STATES,
            lines=tuple(line_record(line) for line in ordered),
            has_pdf=True,  # retrievepdf renders every AR invoice
        )
    except ValueError as e:
        return Rejected("invoice", remote_id, str(e), raw)
    lines_raw = "".join(etree.tostring(line, encoding="unicode") for line in ordered)
    updated = parse_stamp(field(record, "WHENMODIFIED"))
    return Change(
        "invoice", remote_id, Op.UPSERT, invoice, version(record, raw + lines_raw), updated, raw
    )
