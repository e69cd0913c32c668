"""The Xero sandbox's organisations and their records, kept as Xero's JSON shapes.

# Reference: https://developer.xero.com/documentation/api/accounting/invoices
# Reference: https://developer.xero.com/documentation/api/accounting/contacts
# Reference: https://developer.xero.com/documentation/api/accounting/creditnotes
# Reference: https://developer.xero.com/documentation/api/accounting/payments
# Reference: https://developer.xero.com/documentation/api/accounting/banktransfers
# Reference: https://developer.xero.com/documentation/api/accounting/banktransactions
# Reference: https://developer.xero.com/documentation/api/accounting/requests-and-responses

Amounts are Decimal throughout. Each record remembers when it last changed
(UpdatedDateUTC, in Xero's "/Date(ms+0000)/" form), which If-Modified-Since
lists by. Nothing is deleted: invoices go DELETED or VOIDED, contacts
ARCHIVED, payments DELETED, as in Xero, and a listing shows them with their
status. The rules a write must keep are Xero's ValidationErrors (a 400):
payments only on AUTHORISED invoices, into a BANK account or one with
payments enabled, for no more than is due; no voiding an invoice with payments.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from arbridge.sandbox.xero.oauth import Authority

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
RESOURCES = (
    "Contacts",
    "Invoices",
    "CreditNotes",
    "Payments",
    "Accounts",
    "BankTransfers",
    "BankTransactions",
)
ID_FIELD = {
    "Contacts": "ContactID",
    "Invoices": "InvoiceID",
    "CreditNotes": "CreditNoteID",
    "Payments": "PaymentID",
    "Accounts": "AccountID",
    "BankTransfers": "BankTransferID",
    "BankTransactions": "BankTransactionID",
}
# Changes Xero sends webhooks for, by resource.
EVENT_CATEGORIES = {"Contacts": "CONTACT", "Invoices": "INVOICE", "CreditNotes": "CREDITNOTE"}


class Invalid(Exception):
    """A write Xero refuses: a 400 ValidationException with these messages."""

    def __init__(self, *messages: str, status: int = 400) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages
        self.status = status

    def body(self) -> dict[str, Any]:
        if self.status == 404:
            return {"Title": "Not Found", "Status": 404, "Detail": self.messages[0]}
        return {
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": [{"ValidationErrors": [{"Message": m} for m in self.messages]}],
        }


@dataclass(frozen=True)
class Event:
    tenant_id: str
    category: str  # "INVOICE", "CONTACT", "CREDITNOTE"
    resource_id: str
    type: str  # "CREATE" or "UPDATE"
    time: dt.datetime


@dataclass
class Organisation:
    id: str
    name: str
    created: dt.datetime
    records: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {name: {} for name in RESOURCES}
    )
    updated: dict[str, dict[str, dt.datetime]] = field(
        default_factory=lambda: {name: {} for name in RESOURCES}
    )
    replays: dict[str, tuple[int, str]] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)


def ms_date(moment: dt.datetime) -> str:
    return f"/Date({int(moment.timestamp() * 1000)}+0000)/"


def day_of(value: Any) -> dt.date:
    text = str(value or "")
    if text.startswith("/Date("):
        return dt.datetime.fromtimestamp(
            int(text[6:].split("+")[0].split(")")[0]) / 1000, dt.UTC
        ).date()
    return dt.date.fromisoformat(text[:10])


def put_date(record: dict[str, Any], name: str, day: dt.date) -> None:
    moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    record[name] = ms_date(moment)


def cents(value: Any) -> Decimal:
    try:
        return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)
    except ArithmeticError:
        raise Invalid(f"{value!r} is not an amount") from None


class Store:
    """Every organisation the sandbox holds, the OAuth authority, and change listeners."""

    def __init__(self, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.orgs: dict[str, Organisation] = {}
        self.auth = Authority(lambda: self.now().timestamp())
        self.listeners: list[Callable[[Event], None]] = []
        self.lock = threading.RLock()
        # Moved on by the control API's /_sandbox/clock, so a benchmark in another
        # process can skip the waits Xero's limits impose.
        self.skew = dt.timedelta(0)

    def now(self) -> dt.datetime:
        return self.clock() + self.skew

    def stamp(self) -> dt.datetime:
        """Return now, a millisecond after the last stamp if the clock has not moved."""
        now = self.now()
        moment = now.replace(microsecond=now.microsecond // 1000 * 1000)
        last = getattr(self, "_last", None)
        if last is not None and moment <= last:
            moment = last + dt.timedelta(milliseconds=1)
        self._last = moment
        return moment

    # -- organisations ------------------------------------------------------------

    def add_org(self, tenant_id: str | None = None, name: str | None = None) -> str:
        with self.lock:
            tenant_id = tenant_id or str(uuid.uuid4())
            if tenant_id not in self.orgs:
                org = Organisation(
                    tenant_id, name or f"Sandbox Org {len(self.orgs) + 1}", self.now()
                )
                self.orgs[tenant_id] = org
                self._default_accounts(org)
            return tenant_id

    def org(self, tenant_id: str) -> Organisation:
        try:
            return self.orgs[tenant_id]
        except KeyError:
            raise Invalid(f"No organisation {tenant_id}", status=404) from None

    def _default_accounts(self, org: Organisation) -> None:
        for code, name, kind, payments in (
            ("090", "Business Bank Account", "BANK", False),
            ("091", "Business Savings Account", "BANK", False),
            ("610", "Accounts Receivable", "CURRENT", False),
            ("615", "Card payments clearing", "CURRENT", True),
            ("200", "Sales", "REVENUE", False),
            ("404", "Bank Fees", "EXPENSE", False),
        ):
            self._save(
                org,
                "Accounts",
                {
                    "AccountID": str(uuid.uuid4()),
                    "Code": code,
                    "Name": name,
                    "Type": kind,
                    "Status": "ACTIVE",
                    "EnablePaymentsToAccount": payments,
                    "BankAccountType": "BANK" if kind == "BANK" else "",
                    "CurrencyCode": "USD",
                },
                event=False,
            )

    # -- reading ------------------------------------------------------------------

    def list(
        self,
        tenant_id: str,
        resource: str,
        *,
        since: dt.datetime | None = None,
        where: list[tuple[str, str]] = (),  # type: ignore[assignment]
        ids: list[str] | None = None,
        include_archived: bool = True,
        order: str = "",
    ) -> list[dict[str, Any]]:
        """Return the records that match, as Xero lists them (ordered by `order`, or by id)."""
        with self.lock:
            org = self.org(tenant_id)
            records = org.records[resource]
            updated = org.updated[resource]
            if ids is not None:
                chosen = [records[i] for i in ids if i in records]
            else:
                chosen = list(records.values())
            if since is not None:
                id_field = ID_FIELD[resource]
                chosen = [r for r in chosen if updated[r[id_field]] >= since]
            for name, value in where:
                chosen = [r for r in chosen if str(field_of(r, name)) == value]
            if resource == "Contacts" and not include_archived and ids is None:
                chosen = [r for r in chosen if r.get("ContactStatus") != "ARCHIVED"]
            key, _, direction = (order or ID_FIELD[resource]).partition(" ")
            if key == ID_FIELD[resource] and not direction:
                chosen.sort(key=lambda r: r[key])
                return chosen
            chosen.sort(
                key=lambda r: str(field_of(r, key) or ""), reverse=direction.upper() == "DESC"
            )
            return chosen

    def get(self, tenant_id: str, resource: str, id: str) -> dict[str, Any]:
        record = self.org(tenant_id).records[resource].get(id)
        if record is None:
            raise Invalid(f"{resource} {id} was not found", status=404)
        return record

    # -- writing ------------------------------------------------------------------

    def _save(
        self,
        org: Organisation,
        resource: str,
        record: dict[str, Any],
        *,
        event: bool = True,
        created: bool = False,
    ) -> dict[str, Any]:
        moment = self.stamp()
        id = record[ID_FIELD[resource]]
        if resource != "BankTransfers":  # which carry CreatedDateUTC only
            record["UpdatedDateUTC"] = ms_date(moment)
        org.records[resource][id] = record
        org.updated[resource][id] = moment
        if event and resource in EVENT_CATEGORIES:
            change = Event(
                org.id, EVENT_CATEGORIES[resource], id, "CREATE" if created else "UPDATE", moment
            )
            for listener in self.listeners:
                listener(change)
        return record

    def replayed(self, tenant_id: str, key: str) -> tuple[int, str] | None:
        return self.org(tenant_id).replays.get(key)

    def remember(self, tenant_id: str, key: str, status: int, text: str) -> None:
        self.org(tenant_id).replays[key] = (status, text)

    def _number(self, org: Organisation, prefix: str) -> str:
        org.numbers[prefix] = org.numbers.get(prefix, 0) + 1
        return f"{prefix}-{org.numbers[prefix]:04d}"

    def _contact_ref(self, org: Organisation, ref: dict[str, Any] | None) -> dict[str, Any]:
        ref = ref or {}
        if ref.get("ContactID"):
            contact = org.records["Contacts"].get(str(ref["ContactID"]))
            if contact is None:
                raise Invalid(f"Contact {ref['ContactID']} does not exist")
        elif ref.get("Name"):
            contact = next(
                (c for c in org.records["Contacts"].values() if c["Name"] == ref["Name"]), None
            ) or self.save_contact(org.id, {"Name": ref["Name"]})
        else:
            raise Invalid("A Contact must be specified for this type of transaction")
        return {"ContactID": contact["ContactID"], "Name": contact["Name"]}

    def _account(self, org: Organisation, ref: dict[str, Any] | None) -> dict[str, Any]:
        ref = ref or {}
        for account in org.records["Accounts"].values():
            if (ref.get("AccountID") and account["AccountID"] == ref["AccountID"]) or (
                ref.get("Code") and account["Code"] == ref["Code"]
            ):
                return account
        raise Invalid(f"Account could not be found: {ref.get('Code') or ref.get('AccountID')}")

    def save_contact(self, tenant_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create a contact, or update the one whose ContactID the body names."""
        with self.lock:
            org = self.org(tenant_id)
            id = body.get("ContactID")
            old = org.records["Contacts"].get(id) if id else None
            if id and old is None:
                raise Invalid(f"Contact {id} does not exist", status=404)
            contact = dict(
                old
                or {
                    "ContactID": str(uuid.uuid4()),
                    "ContactStatus": "ACTIVE",
                    "IsSupplier": False,
                    "IsCustomer": False,
                    "ContactPersons": [],
                    "Addresses": [],
                    "Phones": [],
                }
            )
            for name in (
                "Name",
                "FirstName",
                "LastName",
                "EmailAddress",
                "ContactPersons",
                "Addresses",
                "Phones",
                "ContactStatus",
                "IsSupplier",
            ):
                if name in body:
                    contact[name] = body[name]
            if not str(contact.get("Name") or "").strip():
                raise Invalid("The contact name must be specified")
            return self._save(org, "Contacts", contact, created=old is None)

    def save_invoice(self, tenant_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create an invoice, or update one: its lines, or its Status (VOIDED, DELETED)."""
        with self.lock:
            org = self.org(tenant_id)
            id = body.get("InvoiceID")
            old = org.records["Invoices"].get(id) if id else None
            if id and old is None:
                raise Invalid(f"Invoice {id} does not exist", status=404)
            if old is None:
                invoice: dict[str, Any] = {
                    "Type": body.get("Type", "ACCREC"),
                    "InvoiceID": str(uuid.uuid4()),
                    "InvoiceNumber": body.get("InvoiceNumber") or self._number(org, "INV"),
                    "Contact": self._contact_ref(org, body.get("Contact")),
                    "Status": body.get("Status", "DRAFT"),
                    "LineAmountTypes": body.get("LineAmountTypes", "NoTax"),
                    "CurrencyCode": body.get("CurrencyCode", "USD"),
                    "Reference": body.get("Reference", ""),
                    "AmountPaid": ZERO,
                    "AmountCredited": ZERO,
                    "Payments": [],
                    "CreditNotes": [],
                    "HasAttachments": False,
                }
                put_date(invoice, "Date", day_of(body.get("Date") or self.now().date().isoformat()))
                if body.get("DueDate"):
                    put_date(invoice, "DueDate", day_of(body["DueDate"]))
                lines = body.get("LineItems") or []
            else:
                invoice = dict(old)
                lines = body.get("LineItems") if "LineItems" in body else None
                status = body.get("Status")
                if status and status != old["Status"]:
                    self._check_status(old, status)
                    invoice["Status"] = status
                if "Reference" in body:
                    invoice["Reference"] = body["Reference"]
                if lines is not None and old["Status"] in ("PAID", "VOIDED", "DELETED"):
                    raise Invalid(
                        "This document cannot be edited as it has a payment or credit note "
                        "allocated to it."
                    )
            if lines is not None:
                invoice["LineItems"] = [self._line(line) for line in lines]
            self._total(invoice)
            if invoice["Type"] == "ACCREC" and invoice["Contact"]:
                contact = org.records["Contacts"].get(invoice["Contact"]["ContactID"])
                if contact is not None and not contact.get("IsCustomer"):
                    contact["IsCustomer"] = True
            return self._save(org, "Invoices", invoice, created=old is None)

    def _check_status(self, old: dict[str, Any], status: str) -> None:
        current = old["Status"]
        if status == "DELETED" and current not in ("DRAFT", "SUBMITTED"):
            raise Invalid("Only DRAFT and SUBMITTED invoices can be deleted; void it instead")
        if status == "VOIDED":
            if current not in ("AUTHORISED",):
                raise Invalid(f"Invoice of status {current} cannot be voided")
            if old["AmountPaid"] or old["AmountCredited"]:
                raise Invalid(
                    "Invoice cannot be voided as it has payments or credit notes allocated"
                )
        if status == "AUTHORISED" and current not in ("DRAFT", "SUBMITTED"):
            raise Invalid(f"Invoice of status {current} cannot be approved")

    def _line(self, line: dict[str, Any]) -> dict[str, Any]:
        quantity = Decimal(str(line.get("Quantity", 1)))
        unit = cents(line.get("UnitAmount", 0))
        return {
            "LineItemID": line.get("LineItemID") or str(uuid.uuid4()),
            "Description": line.get("Description", ""),
            "Quantity": quantity,
            "UnitAmount": unit,
            "ItemCode": line.get("ItemCode", ""),
            "AccountCode": line.get("AccountCode", "200"),
            "TaxType": "NONE",
            "TaxAmount": ZERO,
            "LineAmount": cents(quantity * unit),
        }

    def _total(self, invoice: dict[str, Any]) -> None:
        total = sum((line["LineAmount"] for line in invoice.get("LineItems", [])), ZERO)
        invoice.update(SubTotal=total, TotalTax=ZERO, Total=total)
        due = total - invoice["AmountPaid"] - invoice["AmountCredited"]
        invoice["AmountDue"] = ZERO if invoice["Status"] in ("VOIDED", "DELETED") else due
        if invoice["Status"] == "AUTHORISED" and due == 0 and total:
            invoice["Status"] = "PAID"
            put_date(invoice, "FullyPaidOnDate", self.now().date())
        elif invoice["Status"] == "PAID" and due > 0:
            invoice["Status"] = "AUTHORISED"

    def create_payment(self, tenant_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            org = self.org(tenant_id)
            invoice_id = str((body.get("Invoice") or {}).get("InvoiceID") or "")
            invoice = org.records["Invoices"].get(invoice_id)
            if invoice is None:
                raise Invalid("Invoice could not be found")
            account = self._account(org, body.get("Account"))
            amount = cents(body.get("Amount", 0))
            errors = []
            if invoice["Status"] != "AUTHORISED":
                errors.append("Payment can only be made against invoices with status AUTHORISED")
            if account["Type"] != "BANK" and not account.get("EnablePaymentsToAccount"):
                errors.append(
                    "Payments can only be made to BANK accounts or accounts with payments enabled"
                )
            if amount <= 0:
                errors.append("Payment amount must be greater than zero")
            elif amount > invoice["AmountDue"]:
                errors.append("Payment amount exceeds the amount outstanding on this document")
            if errors:
                raise Invalid(*errors)
            payment = {
                "PaymentID": str(uuid.uuid4()),
                "PaymentType": "ACCRECPAYMENT" if invoice["Type"] == "ACCREC" else "ACCPAYPAYMENT",
                "Status": "AUTHORISED",
                "Amount": amount,
                "Reference": body.get("Reference", ""),
                "IsReconciled": False,
                "Account": {"AccountID": account["AccountID"], "Code": account["Code"]},
                "Invoice": {
                    "InvoiceID": invoice_id,
                    "InvoiceNumber": invoice["InvoiceNumber"],
                    "Type": invoice["Type"],
                    "Contact": invoice["Contact"],
                    "CurrencyCode": invoice["CurrencyCode"],
                },
            }
            put_date(payment, "Date", day_of(body.get("Date") or self.now().date().isoformat()))
            invoice = dict(invoice)
            invoice["AmountPaid"] += amount
            invoice["Payments"] = [
                *invoice["Payments"],
                {"PaymentID": payment["PaymentID"], "Date": payment["Date"], "Amount": amount},
            ]
            self._total(invoice)
            self._save(org, "Invoices", invoice)
            return self._save(org, "Payments", payment, created=True)

    def delete_payment(self, tenant_id: str, payment_id: str) -> dict[str, Any]:
        with self.lock:
            org = self.org(tenant_id)
            payment = dict(self.get(tenant_id, "Payments", payment_id))
            if payment["Status"] == "DELETED":
                raise Invalid("This payment has already been deleted")
            payment["Status"] = "DELETED"
            invoice = dict(org.records["Invoices"][payment["Invoice"]["InvoiceID"]])
            invoice["AmountPaid"] -= payment["Amount"]
            invoice["Payments"] = [p for p in invoice["Payments"] if p["PaymentID"] != payment_id]
            self._total(invoice)
            self._save(org, "Invoices", invoice)
            return self._save(org, "Payments", payment)

    def create_credit_note(self, tenant_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            org = self.org(tenant_id)
            note: dict[str, Any] = {
                "Type": body.get("Type", "ACCRECCREDIT"),
                "CreditNoteID": str(uuid.uuid4()),
                "CreditNoteNumber": body.get("CreditNoteNumber") or self._number(org, "CN"),
                "Contact": self._contact_ref(org, body.get("Contact")),
                "Status": body.get("Status", "AUTHORISED"),
                "LineAmountTypes": "NoTax",
                "CurrencyCode": body.get("CurrencyCode", "USD"),
                "Reference": body.get("Reference", ""),
                "LineItems": [self._line(line) for line in body.get("LineItems") or []],
                "Allocations": [],
            }
            put_date(note, "Date", day_of(body.get("Date") or self.now().date().isoformat()))
            total = sum((line["LineAmount"] for line in note["LineItems"]), ZERO)
            note.update(SubTotal=total, TotalTax=ZERO, Total=total, RemainingCredit=total)
            return self._save(org, "CreditNotes", note, created=True)

    def allocate(self, tenant_id: str, note_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Allocate some of a credit note to an invoice, reducing what is due on both."""
        with self.lock:
            org = self.org(tenant_id)
            note = dict(self.get(tenant_id, "CreditNotes", note_id))
            invoice_id = str((body.get("Invoice") or {}).get("InvoiceID") or "")
            invoice = org.records["Invoices"].get(invoice_id)
            if invoice is None:
                raise Invalid("Invoice could not be found")
            amount = cents(body.get("Amount", 0))
            if note["Status"] != "AUTHORISED":
                raise Invalid("Only AUTHORISED credit notes can be allocated")
            if invoice["Status"] != "AUTHORISED":
                raise Invalid("Credit can only be allocated to invoices with status AUTHORISED")
            if not 0 < amount <= min(note["RemainingCredit"], invoice["AmountDue"]):
                raise Invalid("The amount allocated exceeds the remaining credit or the amount due")
            allocation = {
                "AllocationID": str(uuid.uuid4()),
                "Amount": amount,
                "Invoice": {"InvoiceID": invoice_id, "InvoiceNumber": invoice["InvoiceNumber"]},
            }
            put_date(allocation, "Date", day_of(body.get("Date") or self.now().date().isoformat()))
            note["Allocations"] = [*note["Allocations"], allocation]
            note["RemainingCredit"] -= amount
            if note["RemainingCredit"] == 0:
                note["Status"] = "PAID"
            invoice = dict(invoice)
            invoice["AmountCredited"] += amount
            invoice["CreditNotes"] = [
                *invoice["CreditNotes"],
                {
                    "CreditNoteID": note_id,
                    "CreditNoteNumber": note["CreditNoteNumber"],
                    "AppliedAmount": amount,
                },
            ]
            self._total(invoice)
            self._save(org, "Invoices", invoice)
            self._save(org, "CreditNotes", note)
            return allocation

    def create_transfer(self, tenant_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            org = self.org(tenant_id)
            source = self._account(org, body.get("FromBankAccount"))
            target = self._account(org, body.get("ToBankAccount"))
            amount = cents(body.get("Amount", 0))
            if amount <= 0:
                raise Invalid("The amount must be greater than zero")
            if source["AccountID"] == target["AccountID"]:
                raise Invalid("The from and to accounts must be different")
            if "BANK" not in (source["Type"], target["Type"]) and not source.get(
                "EnablePaymentsToAccount"
            ):
                raise Invalid(
                    "Bank transfers are between bank accounts or accounts taking payments"
                )
            transfer = {
                "BankTransferID": str(uuid.uuid4()),
                "FromBankAccount": {
                    "AccountID": source["AccountID"],
                    "Code": source["Code"],
                    "Name": source["Name"],
                },
                "ToBankAccount": {
                    "AccountID": target["AccountID"],
                    "Code": target["Code"],
                    "Name": target["Name"],
                },
                "Amount": amount,
                "Reference": body.get("Reference", ""),
                "FromBankTransactionID": str(uuid.uuid4()),
                "ToBankTransactionID": str(uuid.uuid4()),
                "FromIsReconciled": False,
                "ToIsReconciled": False,
                "HasAttachments": False,
                "CreatedDateUTC": ms_date(self.now()),
            }
            put_date(transfer, "Date", day_of(body.get("Date") or self.now().date().isoformat()))
            return self._save(org, "BankTransfers", transfer, created=True)

    def create_bank_transaction(self, tenant_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            org = self.org(tenant_id)
            kind = body.get("Type")
            if kind not in ("SPEND", "RECEIVE"):
                raise Invalid("Type must be SPEND or RECEIVE")
            account = self._account(org, body.get("BankAccount"))
            lines = [self._line(line) for line in body.get("LineItems") or []]
            if not lines:
                raise Invalid("At least one line item is required")
            for line in lines:
                self._account(org, {"Code": line["AccountCode"]})
            total = sum((line["LineAmount"] for line in lines), ZERO)
            transaction = {
                "BankTransactionID": str(uuid.uuid4()),
                "Type": kind,
                "Contact": self._contact_ref(org, body.get("Contact")),
                "BankAccount": {
                    "AccountID": account["AccountID"],
                    "Code": account["Code"],
                    "Name": account["Name"],
                },
                "LineItems": lines,
                "LineAmountTypes": "NoTax",
                "Status": "AUTHORISED",
                "Reference": body.get("Reference", ""),
                "CurrencyCode": "USD",
                "IsReconciled": False,
                "SubTotal": total,
                "TotalTax": ZERO,
                "Total": total,
                "HasAttachments": False,
            }
            put_date(transaction, "Date", day_of(body.get("Date") or self.now().date().isoformat()))
            return self._save(org, "BankTransactions", transaction, created=True)

    def balance(self, tenant_id: str, code: str) -> Decimal:
        """Return what went into an account (payments, transfers, receipts) less what left."""
        with self.lock:
            org = self.org(tenant_id)
            total = ZERO
            for p in org.records["Payments"].values():
                if p["Status"] == "AUTHORISED" and p["Account"]["Code"] == code:
                    total += p["Amount"]
            for t in org.records["BankTransfers"].values():
                total += t["Amount"] * (
                    (t["ToBankAccount"]["Code"] == code) - (t["FromBankAccount"]["Code"] == code)
                )
            for b in org.records["BankTransactions"].values():
                if b["BankAccount"]["Code"] == code:
                    total += b["Total"] if b["Type"] == "RECEIVE" else -b["Total"]
            return total


def field_of(record: dict[str, Any], name: str) -> Any:
    """Return a (dotted) field of a record, as `where` and `order` name it."""
    value: Any = record
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
