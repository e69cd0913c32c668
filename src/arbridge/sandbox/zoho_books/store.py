"""The Zoho Books sandbox's organizations and their books, in memory.

# Reference: https://www.zoho.com/books/api/v3/contacts/
# Reference: https://www.zoho.com/books/api/v3/invoices/
# Reference: https://www.zoho.com/books/api/v3/customer-payments/
# Reference: https://www.zoho.com/books/api/v3/credit-notes/

Records are plain dicts in Zoho's field names, amounts Decimal. What Zoho
derives is derived here: an invoice's balance, payment_made and
credits_applied, and its status (sent, partially_paid, paid; overdue is not
simulated). An invoice keeps its payments and credits applied (served by
/invoices/{id}/payments and /creditsapplied) under "_payments" and
"_credits", which its own answer leaves out. Recording or deleting a
payment or applying a credit changes the invoice, so its
last_modified_time moves on (verify against Zoho: the invoice's own
timestamp is what a reader of changes relies on).
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from arbridge.sandbox.zoho_books.oauth import Authority

ZERO = Decimal("0.00")
LOCATIONS = ("us", "eu", "in", "au", "jp", "ca", "sa", "uk", "cn")


class Invalid(Exception):
    """A request Zoho would refuse: its HTTP status, Zoho's error code and message."""

    def __init__(self, message: str, *, status: int = 400, code: int = 4) -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self)}


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def amount(value: Any, name: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise Invalid(f"{name} is not an amount") from None
    if not number.is_finite():
        raise Invalid(f"{name} is not an amount")
    return number.quantize(Decimal("0.01"))


@dataclass
class Org:
    id: str
    name: str
    location: str = "us"
    plan: str = "premium"
    currency: str = "USD"
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    creditnotes: dict[str, dict[str, Any]] = field(default_factory=dict)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    banktransactions: dict[str, dict[str, Any]] = field(default_factory=dict)


DEFAULT_ACCOUNTS = (
    ("460000000000361", "Undeposited Funds", "cash"),
    ("460000000000358", "Petty Cash", "cash"),
    ("460000000000370", "Business Checking", "bank"),
    ("460000000000388", "Sales", "income"),
    ("460000000000400", "Bank Fees and Charges", "expense"),
)


class Store:
    """Every organization of the sandbox, with a clock tests can move on (`skew`)."""

    def __init__(self, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.skew = dt.timedelta()
        self.orgs: dict[str, Org] = {}
        self.lock = threading.RLock()
        self.ids = itertools.count(982000000567001)
        self.seq = itertools.count(1)
        self.auth = Authority(lambda: self.now().timestamp())

    def now(self) -> dt.datetime:
        return self.clock() + self.skew

    def new_id(self) -> str:
        return str(next(self.ids))

    def add_org(
        self,
        organization_id: str | None = None,
        name: str | None = None,
        *,
        location: str = "us",
        plan: str = "premium",
    ) -> str:
        if location not in LOCATIONS:
            raise ValueError(f"no data centre {location!r}")
        with self.lock:
            organization_id = str(organization_id or next(self.ids))
            if organization_id not in self.orgs:
                org = Org(
                    organization_id, name or f"Organization {organization_id}", location, plan
                )
                org.accounts = [
                    {"account_id": a, "account_name": n, "account_type": t, "is_active": True}
                    for a, n, t in DEFAULT_ACCOUNTS
                ]
                self.orgs[organization_id] = org
            return organization_id

    def org(self, organization_id: str) -> Org:
        try:
            return self.orgs[organization_id]
        except KeyError:
            raise Invalid("Invalid value passed for organization_id", code=6041) from None

    def _touch(self, record: dict[str, Any], *, created: bool = False) -> None:
        now = self.now()
        moment = stamp(now)
        record["_mtime"] = now.timestamp()
        if created:
            record["created_time"] = moment
            record["_seq"] = next(self.seq)
        record["last_modified_time"] = moment

    # -- contacts ---------------------------------------------------------------

    def create_contact(self, org_id: str, body: dict[str, Any]) -> dict[str, Any]:
        org = self.org(org_id)
        name = str(body.get("contact_name") or "").strip()
        if not name:
            raise Invalid("contact_name is required", code=2)
        with self.lock:
            persons = list(body.get("contact_persons") or [])
            primary = next((p for p in persons if p.get("is_primary_contact")), None)
            primary = primary or (persons[0] if persons else {})
            contact = {
                "contact_id": self.new_id(),
                "contact_name": name,
                "company_name": str(body.get("company_name") or name),
                "contact_type": str(body.get("contact_type") or "customer"),
                "status": "active",
                "currency_code": org.currency,
                "first_name": str(primary.get("first_name") or ""),
                "last_name": str(primary.get("last_name") or ""),
                "email": str(primary.get("email") or ""),
                "phone": str(primary.get("phone") or ""),
                "mobile": str(primary.get("mobile") or ""),
                "contact_persons": [
                    {
                        "contact_person_id": self.new_id(),
                        "first_name": str(p.get("first_name") or ""),
                        "last_name": str(p.get("last_name") or ""),
                        "email": str(p.get("email") or ""),
                        "phone": str(p.get("phone") or ""),
                        "is_primary_contact": p is primary,
                    }
                    for p in persons
                ],
            }
            self._touch(contact, created=True)
            org.contacts[contact["contact_id"]] = contact
            return contact

    def contact(self, org_id: str, contact_id: str) -> dict[str, Any]:
        try:
            return self.org(org_id).contacts[contact_id]
        except KeyError:
            raise Invalid("Contact does not exist.", status=404, code=1002) from None

    def update_contact(self, org_id: str, contact_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            contact = self.contact(org_id, contact_id)
            for name in ("contact_name", "company_name"):
                if body.get(name):
                    contact[name] = str(body[name])
            self._touch(contact)
            return contact

    def mark_contact(self, org_id: str, contact_id: str, status: str) -> dict[str, Any]:
        with self.lock:
            contact = self.contact(org_id, contact_id)
            contact["status"] = status
            self._touch(contact)
            return contact

    def delete_contact(self, org_id: str, contact_id: str) -> None:
        with self.lock:
            org = self.org(org_id)
            self.contact(org_id, contact_id)
            if any(i["customer_id"] == contact_id for i in org.invoices.values()):
                raise Invalid("Contacts with transactions cannot be deleted.", code=1001)
            del org.contacts[contact_id]

    # -- invoices ---------------------------------------------------------------

    def create_invoice(self, org_id: str, body: dict[str, Any]) -> dict[str, Any]:
        org = self.org(org_id)
        customer = self.contact(org_id, str(body.get("customer_id") or ""))
        with self.lock:
            number = str(body.get("invoice_number") or f"INV-{len(org.invoices) + 1:06d}")
            invoice = {
                "invoice_id": self.new_id(),
                "invoice_number": number,
                "status": "draft",
                "date": str(body.get("date") or self.now().date().isoformat()),
                "due_date": str(body.get("due_date") or body.get("date") or ""),
                "payment_terms_label": str(body.get("payment_terms_label") or "Due on Receipt"),
                "reference_number": str(body.get("reference_number") or ""),
                "customer_id": customer["contact_id"],
                "customer_name": customer["contact_name"],
                "currency_code": org.currency,
                "notes": str(body.get("notes") or ""),
                "terms": str(body.get("terms") or ""),
                "_payments": [],
                "_credits": [],
            }
            self._lines(invoice, body.get("line_items") or [])
            self._touch(invoice, created=True)
            self._derive(invoice)
            org.invoices[invoice["invoice_id"]] = invoice
            return invoice

    def _lines(self, invoice: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        if not lines:
            raise Invalid("line_items are required", code=2)
        items = []
        for line in lines:
            quantity = Decimal(str(line.get("quantity", 1)))
            rate = amount(line.get("rate", 0), "rate")
            items.append(
                {
                    "line_item_id": self.new_id(),
                    "item_id": str(line.get("item_id") or ""),
                    "name": str(line.get("name") or ""),
                    "description": str(line.get("description") or ""),
                    "quantity": quantity,
                    "rate": rate,
                    "item_total": (quantity * rate).quantize(Decimal("0.01")),
                }
            )
        invoice["line_items"] = items
        invoice["total"] = sum((line["item_total"] for line in items), ZERO)
        invoice["sub_total"] = invoice["total"]
        invoice["tax_total"] = ZERO

    def _derive(self, invoice: dict[str, Any]) -> None:
        paid = sum((p["amount"] for p in invoice["_payments"]), ZERO)
        credited = sum((c["amount_applied"] for c in invoice["_credits"]), ZERO)
        invoice["payment_made"] = paid
        invoice["credits_applied"] = credited
        invoice["balance"] = invoice["total"] - paid - credited
        if invoice["status"] in ("draft", "void"):
            return
        if invoice["balance"] == 0:
            invoice["status"] = "paid"
        elif paid or credited:
            invoice["status"] = "partially_paid"
        else:
            invoice["status"] = "sent"

    def invoice(self, org_id: str, invoice_id: str) -> dict[str, Any]:
        try:
            return self.org(org_id).invoices[invoice_id]
        except KeyError:
            raise Invalid("Invoice does not exist.", status=404, code=1002) from None

    def update_invoice(self, org_id: str, invoice_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            invoice = self.invoice(org_id, invoice_id)
            if invoice["status"] == "void":
                raise Invalid("A void invoice cannot be edited.", code=1001)
            if "line_items" in body:
                self._lines(invoice, body["line_items"])
                if invoice["total"] < invoice["payment_made"] + invoice["credits_applied"]:
                    raise Invalid("The total is less than what was paid.", code=1001)
            for name in ("due_date", "reference_number", "notes"):
                if name in body:
                    invoice[name] = str(body[name])
            self._derive(invoice)
            self._touch(invoice)
            return invoice

    def set_status(self, org_id: str, invoice_id: str, status: str) -> dict[str, Any]:
        with self.lock:
            invoice = self.invoice(org_id, invoice_id)
            if status == "void" and (invoice["_payments"] or invoice["_credits"]):
                raise Invalid("Delete the payments and credits of the invoice first.", code=1001)
            if status == "sent" and invoice["status"] != "draft":
                raise Invalid("Only a draft invoice can be marked as sent.", code=1001)
            invoice["status"] = status
            self._derive(invoice)
            self._touch(invoice)
            return invoice

    def delete_invoice(self, org_id: str, invoice_id: str) -> None:
        with self.lock:
            invoice = self.invoice(org_id, invoice_id)
            if invoice["_payments"]:
                raise Invalid("Invoices with payments cannot be deleted.", code=1001)
            del self.org(org_id).invoices[invoice_id]

    # -- payments and credits -----------------------------------------------------

    def create_payment(self, org_id: str, body: dict[str, Any]) -> dict[str, Any]:
        org = self.org(org_id)
        customer = self.contact(org_id, str(body.get("customer_id") or ""))
        applied = list(body.get("invoices") or [])
        total = amount(body.get("amount", 0), "amount")
        with self.lock:
            invoices = []
            for part in applied:
                invoice = self.invoice(org_id, str(part.get("invoice_id") or ""))
                share = amount(part.get("amount_applied", 0), "amount_applied")
                if invoice["customer_id"] != customer["contact_id"]:
                    raise Invalid("The invoice belongs to another customer.", code=1001)
                if invoice["status"] in ("void", "draft"):
                    raise Invalid(f"Invoice {invoice['invoice_number']} is {invoice['status']}.")
                if share <= 0 or share > invoice["balance"]:
                    raise Invalid("The amount applied exceeds the invoice's balance.", code=24016)
                invoices.append((invoice, share))
            if sum((s for _, s in invoices), ZERO) > total:
                raise Invalid("The amount applied exceeds the payment.", code=24016)
            account = str(body.get("account_id") or DEFAULT_ACCOUNTS[0][0])
            if not any(a["account_id"] == account for a in org.accounts):
                raise Invalid("The deposit account does not exist.", code=1002)
            payment = {
                "payment_id": self.new_id(),
                "payment_number": str(len(org.payments) + 1),
                "date": str(body.get("date") or self.now().date().isoformat()),
                "payment_mode": str(body.get("payment_mode") or "cash"),
                "amount": total,
                "reference_number": str(body.get("reference_number") or ""),
                "description": str(body.get("description") or ""),
                "customer_id": customer["contact_id"],
                "customer_name": customer["contact_name"],
                "_account_id": account,
                "invoices": [],
            }
            self._touch(payment, created=True)
            for invoice, share in invoices:
                part = {
                    "invoice_payment_id": self.new_id(),
                    "invoice_id": invoice["invoice_id"],
                    "invoice_number": invoice["invoice_number"],
                    "amount_applied": share,
                }
                payment["invoices"].append(part)
                invoice["_payments"].append(
                    {
                        "payment_id": payment["payment_id"],
                        "invoice_id": invoice["invoice_id"],
                        "payment_number": int(payment["payment_number"]),
                        "invoice_payment_id": part["invoice_payment_id"],
                        "payment_mode": payment["payment_mode"],
                        "date": payment["date"],
                        "reference_number": payment["reference_number"],
                        "description": payment["description"],
                        "amount": share,
                    }
                )
                self._derive(invoice)
                self._touch(invoice)
            org.payments[payment["payment_id"]] = payment
            return payment

    def payment(self, org_id: str, payment_id: str) -> dict[str, Any]:
        try:
            return self.org(org_id).payments[payment_id]
        except KeyError:
            raise Invalid("The payment does not exist.", status=404, code=1002) from None

    def delete_payment(self, org_id: str, payment_id: str) -> None:
        with self.lock:
            org = self.org(org_id)
            payment = self.payment(org_id, payment_id)
            for part in payment["invoices"]:
                invoice = org.invoices.get(part["invoice_id"])
                if invoice is None:
                    continue
                invoice["_payments"] = [
                    p for p in invoice["_payments"] if p["payment_id"] != payment_id
                ]
                self._derive(invoice)
                self._touch(invoice)
            del org.payments[payment_id]

    def create_credit_note(self, org_id: str, body: dict[str, Any]) -> dict[str, Any]:
        org = self.org(org_id)
        customer = self.contact(org_id, str(body.get("customer_id") or ""))
        with self.lock:
            note: dict[str, Any] = {
                "creditnote_id": self.new_id(),
                "creditnote_number": f"CN-{len(org.creditnotes) + 1:05d}",
                "date": str(body.get("date") or self.now().date().isoformat()),
                "status": "open",
                "customer_id": customer["contact_id"],
                "customer_name": customer["contact_name"],
                "currency_code": org.currency,
                "invoices": [],
            }
            self._lines(note, body.get("line_items") or [])
            note["balance"] = note["total"]
            self._touch(note, created=True)
            org.creditnotes[note["creditnote_id"]] = note
            return note

    def apply_credit(self, org_id: str, creditnote_id: str, parts: list[dict]) -> list[dict]:
        with self.lock:
            try:
                note = self.org(org_id).creditnotes[creditnote_id]
            except KeyError:
                raise Invalid("The credit note does not exist.", status=404, code=1002) from None
            applied = []
            for part in parts:
                invoice = self.invoice(org_id, str(part.get("invoice_id") or ""))
                share = amount(part.get("amount_applied", 0), "amount_applied")
                if share <= 0 or share > min(invoice["balance"], note["balance"]):
                    raise Invalid("The amount applied exceeds the balance.", code=24016)
                row = {
                    "creditnote_id": creditnote_id,
                    "creditnotes_invoice_id": self.new_id(),
                    "creditnotes_number": note["creditnote_number"],
                    "credited_date": self.now().date().isoformat(),
                    "amount_applied": share,
                }
                invoice["_credits"].append(row)
                note["balance"] -= share
                note["status"] = "closed" if note["balance"] == 0 else "open"
                note["invoices"].append({"invoice_id": invoice["invoice_id"], **row})
                self._derive(invoice)
                self._touch(invoice)
                self._touch(note)
                applied.append({"invoice_id": invoice["invoice_id"], "amount_applied": share})
            return applied

    # -- bank transactions -----------------------------------------------------------

    def create_bank_transaction(self, org_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Record a deposit, an expense or a transfer between two of the organization's accounts."""
        org = self.org(org_id)
        kind = str(body.get("transaction_type") or "")
        if kind not in ("deposit", "expense", "transfer_fund"):
            raise Invalid(f"transaction_type {kind!r} is not supported here", code=2)
        accounts = {a["account_id"] for a in org.accounts}
        for name in ("from_account_id", "to_account_id"):
            if str(body.get(name) or "") not in accounts:
                raise Invalid(f"{name} is not an account of the organization", code=1002)
        value = amount(body.get("amount", 0), "amount")
        if value <= 0:
            raise Invalid("amount must be positive", code=2)
        with self.lock:
            row = {
                "transaction_id": self.new_id(),
                "transaction_type": kind,
                "from_account_id": str(body["from_account_id"]),
                "to_account_id": str(body["to_account_id"]),
                "amount": value,
                "date": str(body.get("date") or self.now().date().isoformat()),
                "reference_number": str(body.get("reference_number") or ""),
                "description": str(body.get("description") or ""),
            }
            self._touch(row, created=True)
            org.banktransactions[row["transaction_id"]] = row
            return row

    def balance_of(self, org_id: str, account_id: str) -> Decimal:
        """Return what the bank transactions moved into an account, less what they moved out."""
        total = ZERO
        for row in self.org(org_id).banktransactions.values():
            if row["to_account_id"] == account_id:
                total += row["amount"]
            if row["from_account_id"] == account_id:
                total -= row["amount"]
        return total

    # -- lists ----------------------------------------------------------------------

    def listed(
        self, records: Iterator[dict[str, Any]] | list[dict[str, Any]], since: dt.datetime | None
    ) -> list[dict[str, Any]]:
        """Return records modified at or after `since`, oldest created first.

        Records are kept in the order they were created, so no sort is needed.
        """
        if since is None:
            return list(records)
        moment = since.timestamp()
        return [r for r in records if r["_mtime"] >= moment]
