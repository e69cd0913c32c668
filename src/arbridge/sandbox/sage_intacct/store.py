"""A Sage Intacct sandbox's companies: entities, customers, AR invoices and their lines,
AR payments, deposits, bank fees, the audit trail, sessions and control ids.

# Reference: https://developer.intacct.com/api/accounts-receivable/invoices/
# Reference: https://developer.intacct.com/api/accounts-receivable/ar-payments/
# Reference: https://developer.intacct.com/api/company-console/audit-history/

Records are dicts of Intacct field names (dotted names nested: BILLTO is a
dict). Each company numbers its records with one RECORDNO sequence. A record
belongs to an entity (its MEGAENTITYID, "" for the top level); a session
opened for an entity sees that entity's records and the customers made at
the top level (shared), the top level all.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ZERO = Decimal("0.00")
# Objects of the company's set-up, which every entity sees.
SHARED = frozenset({"CHECKINGACCOUNT", "GLACCOUNT"})


class Refused(Exception):
    """A function Intacct refuses: an error number and its description."""

    def __init__(self, number: str, description: str, description2: str = ""):
        super().__init__(f"{number} {description}")
        self.number = number
        self.description = description
        self.description2 = description2


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%m/%d/%Y %H:%M:%S")


def us_date(day: dt.date) -> str:
    return day.strftime("%m/%d/%Y")


@dataclass
class Session:
    id: str
    company: str
    user: str
    entity: str


@dataclass
class Company:
    id: str
    name: str
    users: dict[str, str] = field(default_factory=dict)
    entities: dict[str, str] = field(default_factory=dict)  # location id -> name
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)  # by CUSTOMERID
    invoices: dict[int, dict[str, Any]] = field(default_factory=dict)  # by RECORDNO
    lines: dict[int, dict[str, Any]] = field(default_factory=dict)
    payments: dict[int, dict[str, Any]] = field(default_factory=dict)
    deposits: dict[int, dict[str, Any]] = field(default_factory=dict)
    bank_fees: dict[int, dict[str, Any]] = field(default_factory=dict)
    checking: dict[str, dict[str, Any]] = field(default_factory=dict)
    gl_accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    audit: list[dict[str, Any]] = field(default_factory=list)
    control_ids: set[str] = field(default_factory=set)
    numbers: itertools.count = field(default_factory=lambda: itertools.count(1001))
    invoice_numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    def next(self) -> int:
        return next(self.numbers)


class Store:
    """Every company of the sandbox, the senders it knows, and the open sessions."""

    def __init__(self, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.skew = dt.timedelta(0)  # moved on by /_sandbox/clock
        self.companies: dict[str, Company] = {}
        self.senders: dict[str, str] = {}
        self.sessions: dict[str, Session] = {}
        self.lock = threading.RLock()

    def now(self) -> dt.datetime:
        return self.clock() + self.skew

    # -- setting up -------------------------------------------------------------

    def add_sender(self, sender_id: str, password: str) -> None:
        self.senders[sender_id] = password

    def add_company(
        self,
        company_id: str,
        name: str = "",
        *,
        users: dict[str, str] | None = None,
        entities: dict[str, str] | None = None,
    ) -> Company:
        with self.lock:
            company = Company(company_id, name or company_id)
            company.users.update(users or {"xml_gateway": "gateway-password"})
            company.entities.update(entities or {})
            for bank, gl in (("BOA-OPERATING", "1000"), ("SVB-DEPOSITS", "1010")):
                company.checking[bank] = {
                    "BANKACCOUNTID": bank,
                    "BANKNAME": bank.replace("-", " ").title(),
                    "GLACCOUNTNO": gl,
                }
            for no, title, kind, normal in (
                ("1000", "Operating cash", "balancesheet", "debit"),
                ("1010", "Deposit cash", "balancesheet", "debit"),
                ("1200", "Accounts receivable", "balancesheet", "debit"),
                ("1300", "Undeposited funds", "balancesheet", "debit"),
                ("4000", "Managed services revenue", "incomestatement", "credit"),
                ("6100", "Merchant fees", "incomestatement", "debit"),
            ):
                company.gl_accounts[no] = {
                    "RECORDNO": str(len(company.gl_accounts) + 1),
                    "ACCOUNTNO": no,
                    "TITLE": title,
                    "ACCOUNTTYPE": kind,
                    "NORMALBALANCE": normal,
                    "STATUS": "active",
                }
            self.companies[company_id] = company
            return company

    # -- sessions ---------------------------------------------------------------

    def open_session(self, company_id: str, user: str, password: str, entity: str) -> Session:
        with self.lock:
            company = self.companies.get(company_id)
            if company is None or company.users.get(user) != password:
                raise Refused("XL03000006", "Sign-in information is incorrect")
            if entity and entity not in company.entities:
                raise Refused("XL03000006", f"Invalid location {entity} for the company")
            session = Session(secrets.token_urlsafe(18), company_id, user, entity)
            self.sessions[session.id] = session
            return session

    # -- what a bookkeeper does in the company --------------------------------------

    def _touch(self, record: dict[str, Any]) -> None:
        record["WHENMODIFIED"] = stamp(self.now())

    def add_customer(
        self,
        company_id: str,
        name: str,
        *,
        email: str = "",
        contact: str = "",
        phone: str = "",
        state: str = "",
        country: str = "United States",
        country_code: str = "US",
        entity: str = "",
        customer_id: str | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            company = self.companies[company_id]
            number = company.next()
            customer = {
                "RECORDNO": str(number),
                "CUSTOMERID": customer_id or f"C-{number}",
                "NAME": name,
                "STATUS": "active",
                "CURRENCY": "USD",
                "MEGAENTITYID": entity,
                "BILLTO": {
                    "CONTACTNAME": contact or name,
                    "PRINTAS": name,
                    "EMAIL1": email,
                    "PHONE1": phone,
                    "MAILADDRESS": {
                        "STATE": state,
                        "COUNTRY": country,
                        "COUNTRYCODE": country_code,
                    },
                },
            }
            self._touch(customer)
            company.customers[customer["CUSTOMERID"]] = customer
            return customer

    def change_customer(self, company_id: str, customer_id: str, **fields: Any) -> None:
        with self.lock:
            customer = self.companies[company_id].customers[customer_id]
            customer.update(fields)
            self._touch(customer)

    def delete_customer(self, company_id: str, customer_id: str) -> None:
        with self.lock:
            company = self.companies[company_id]
            if any(i["CUSTOMERID"] == customer_id for i in company.invoices.values()):
                raise Refused("BL01001973", "The customer has transactions and cannot be deleted")
            del company.customers[customer_id]
            self._audit(company, "customer", customer_id)

    def add_invoice(
        self,
        company_id: str,
        customer_id: str,
        lines: list[tuple[str, Decimal]],
        *,
        issued: dt.date | None = None,
        due: dt.date | None = None,
        number: str | None = None,
        currency: str = "USD",
    ) -> dict[str, Any]:
        """Post an invoice with (description, amount) lines."""
        with self.lock:
            company = self.companies[company_id]
            customer = company.customers[customer_id]
            issued = issued or self.now().date()
            key = company.next()
            invoice = {
                "RECORDNO": str(key),
                "RECORDID": number or f"INV-{next(company.invoice_numbers):05d}",
                "CUSTOMERID": customer_id,
                "CUSTOMERNAME": customer["NAME"],
                "STATE": "Posted",
                "CURRENCY": currency,
                "WHENCREATED": us_date(issued),
                "WHENDUE": us_date(due or issued + dt.timedelta(days=30)),
                "TERMNAME": "N30",
                "DESCRIPTION": "",
                "MEGAENTITYID": customer["MEGAENTITYID"],
            }
            company.invoices[key] = invoice
            self._set_lines(company, key, lines, paid=ZERO, replace=False)
            return invoice

    def _set_lines(
        self,
        company: Company,
        key: int,
        lines: list[tuple[str, Decimal]],
        paid: Decimal,
        *,
        replace: bool = True,
    ) -> None:
        if replace:
            for number in [n for n, row in company.lines.items() if row["RECORDKEY"] == str(key)]:
                del company.lines[number]
        total = ZERO
        for index, (description, amount) in enumerate(lines, start=1):
            line_no = company.next()
            company.lines[line_no] = {
                "RECORDNO": str(line_no),
                "RECORDKEY": str(key),
                "LINE_NO": str(index),
                "ACCOUNTNO": "4000",
                "ENTRYDESCRIPTION": description,
                "ITEMID": "",
                "AMOUNT": str(Decimal(amount).quantize(ZERO)),
            }
            total += Decimal(amount)
        invoice = company.invoices[key]
        invoice["TOTALENTERED"] = str(total.quantize(ZERO))
        self._settle(invoice, paid)

    def _settle(self, invoice: dict[str, Any], paid: Decimal) -> None:
        total = Decimal(invoice["TOTALENTERED"])
        invoice["TOTALPAID"] = str(paid.quantize(ZERO))
        invoice["TOTALDUE"] = str((total - paid).quantize(ZERO))
        if invoice["STATE"] not in ("Reversed", "Draft"):
            invoice["STATE"] = "Paid" if paid >= total else "Partially Paid" if paid else "Posted"
        self._touch(invoice)

    def change_invoice(self, company_id: str, key: str, lines: list[tuple[str, Decimal]]) -> None:
        with self.lock:
            company = self.companies[company_id]
            invoice = company.invoices[int(key)]
            self._set_lines(company, int(key), lines, paid=Decimal(invoice["TOTALPAID"]))

    def delete_invoice(self, company_id: str, key: str) -> None:
        with self.lock:
            company = self.companies[company_id]
            if any(
                p["STATE"] != "Reversed" and key in p["APPLIED"] for p in company.payments.values()
            ):
                raise Refused("BL01001973", "The invoice has payments applied")
            del company.invoices[int(key)]
            for number in [n for n, line in company.lines.items() if line["RECORDKEY"] == key]:
                del company.lines[number]
            self._audit(company, "arinvoice", key)

    def reverse_invoice(self, company_id: str, key: str) -> None:
        """Void an invoice (Intacct reverses it; it stays, marked Reversed)."""
        with self.lock:
            invoice = self.companies[company_id].invoices[int(key)]
            invoice["STATE"] = "Reversed"
            invoice["TOTALDUE"] = "0.00"
            self._touch(invoice)

    def _audit(self, company: Company, object_type: str, key: str) -> None:
        company.audit.append(
            {
                "ID": str(len(company.audit) + 1),
                "OBJECTTYPE": object_type,
                "OBJECTKEY": key,
                "ACCESSMODE": "D",
                "ACCESSTIME": stamp(self.now()),
            }
        )

    def payments_of(self, company_id: str, key: str) -> list[dict[str, Any]]:
        with self.lock:
            return [
                p
                for p in self.companies[company_id].payments.values()
                if key in p["APPLIED"] and p["STATE"] != "Reversed"
            ]

    # -- what the API does --------------------------------------------------------

    def create_payment(self, company: Company, session: Session, fields: dict[str, Any]) -> str:
        """Apply an ARPYMT to its invoices (all or nothing); return its RECORDNO."""
        customer = str(fields.get("CUSTOMERID") or "")
        if customer not in company.customers:
            raise Refused("BL01001973", f"Customer {customer} does not exist")
        if not fields.get("FINANCIALENTITY") and not fields.get("UNDEPOSITEDACCOUNTNO"):
            raise Refused("BL01001973", "Give FINANCIALENTITY or UNDEPOSITEDACCOUNTNO")
        bank = fields.get("FINANCIALENTITY")
        if bank and bank not in company.checking:
            raise Refused("BL01001973", f"Bank account {bank} does not exist")
        details = fields.get("ARPYMTDETAILS") or []
        if not details:
            raise Refused("BL01001973", "An AR payment needs ARPYMTDETAIL lines")
        applied: dict[str, Decimal] = {}
        for detail in details:
            key = str(detail.get("RECORDKEY") or "")
            invoice = company.invoices.get(int(key)) if key.isdigit() else None
            if invoice is None or not self.visible(session, invoice):
                raise Refused("BL01001973", f"Invoice {key} does not exist")
            if invoice["STATE"] == "Reversed":
                raise Refused("BL01001973", f"Invoice {key} is reversed")
            if invoice["CUSTOMERID"] != customer:
                raise Refused("BL01001973", f"Invoice {key} is not customer {customer}'s")
            amount = Decimal(str(detail.get("TRX_PAYMENTAMOUNT") or "0"))
            if amount <= 0 or amount > Decimal(invoice["TOTALDUE"]) - applied.get(key, ZERO):
                raise Refused("BL01001973", f"The amount exceeds invoice {key}'s amount due")
            applied[key] = applied.get(key, ZERO) + amount
        for key, amount in applied.items():
            invoice = company.invoices[int(key)]
            self._settle(invoice, Decimal(invoice["TOTALPAID"]) + amount)
        number = company.next()
        payment = {
            "RECORDNO": str(number),
            "CUSTOMERID": customer,
            "STATE": "Posted" if bank else "Undeposited",
            "FINANCIALENTITY": bank or "",
            "UNDEPOSITEDACCOUNTNO": fields.get("UNDEPOSITEDACCOUNTNO") or "",
            "PAYMENTMETHOD": fields.get("PAYMENTMETHOD") or "",
            "RECEIPTDATE": fields.get("RECEIPTDATE") or "",
            "CURRENCY": fields.get("CURRENCY") or "USD",
            "DOCNUMBER": fields.get("DOCNUMBER") or "",
            "DESCRIPTION": fields.get("DESCRIPTION") or "",
            "TOTALENTERED": str(sum(applied.values(), ZERO)),
            "APPLIED": {key: str(amount) for key, amount in applied.items()},
            "MEGAENTITYID": session.entity,
        }
        self._touch(payment)
        company.payments[number] = payment
        return str(number)

    def reverse_payment(self, company: Company, session: Session, key: str) -> None:
        payment = company.payments.get(int(key)) if key.isdigit() else None
        if payment is None or not self.visible(session, payment):
            raise Refused("BL01001973", f"AR payment {key} does not exist")
        if payment["STATE"] == "Reversed":
            raise Refused("BL01001973", f"AR payment {key} is already reversed")
        if payment.get("DEPOSITKEY"):
            raise Refused("BL01001973", f"AR payment {key} is deposited")
        for invoice_key, amount in payment["APPLIED"].items():
            invoice = company.invoices.get(int(invoice_key))
            if invoice is not None:
                self._settle(invoice, Decimal(invoice["TOTALPAID"]) - Decimal(amount))
        payment["STATE"] = "Reversed"
        self._touch(payment)

    def record_deposit(
        self, company: Company, session: Session, bank: str, day: dt.date, description: str,
        receipts: list[str],
    ) -> str:  # fmt: skip
        if bank not in company.checking:
            raise Refused("BL01001973", f"Bank account {bank} does not exist")
        payments = []
        for key in receipts:
            payment = company.payments.get(int(key)) if key.isdigit() else None
            if payment is None or payment["STATE"] != "Undeposited":
                raise Refused("BL01001973", f"Receipt {key} is not in undeposited funds")
            payments.append(payment)
        number = company.next()
        for payment in payments:
            payment["STATE"] = "Deposited"
            payment["DEPOSITKEY"] = str(number)
        company.deposits[number] = {
            "RECORDNO": str(number),
            "FINANCIALENTITY": bank,
            "WHENCREATED": us_date(day),
            "DESCRIPTION": description,
            "TOTALENTERED": str(sum((Decimal(p["TOTALENTERED"]) for p in payments), ZERO)),
            "RECEIPTS": receipts,
            "MEGAENTITYID": session.entity,
        }
        return str(number)

    def create_bank_fee(self, company: Company, session: Session, fields: dict[str, Any]) -> str:
        bank = fields.get("FINANCIALENTITY")
        if bank not in company.checking:
            raise Refused("BL01001973", f"Bank account {bank} does not exist")
        entries = fields.get("BANKFEEENTRIES") or []
        for entry in entries:
            if entry.get("GLACCOUNTNO") not in company.gl_accounts:
                raise Refused("BL01001973", f"G/L account {entry.get('GLACCOUNTNO')} is unknown")
        number = company.next()
        company.bank_fees[number] = {
            "RECORDNO": str(number),
            "FINANCIALENTITY": bank,
            "TXNTYPE": fields.get("TXNTYPE") or "",
            "DESCRIPTION": fields.get("DESCRIPTION") or "",
            "TOTALENTERED": str(
                sum((Decimal(str(e.get("TRX_AMOUNT") or 0)) for e in entries), ZERO)
            ),
            "GLACCOUNTNO": entries[0].get("GLACCOUNTNO") if entries else "",
            "MEGAENTITYID": session.entity,
        }
        return str(number)

    def visible(self, session: Session, record: dict[str, Any], object: str = "") -> bool:
        """Return True if the session sees the record: the top level sees all; an entity its
        own, and the customers made at the top level (shared with every entity)."""
        owner = record.get("MEGAENTITYID", "")
        if not session.entity or owner == session.entity:
            return True
        return object == "CUSTOMER" and owner == ""

    def rows(self, company: Company, session: Session, object: str) -> list[dict[str, Any]]:
        """Return an object's records the session sees, by RECORDNO."""
        tables = {
            "CUSTOMER": company.customers.values(),
            "ARINVOICE": company.invoices.values(),
            "ARPYMT": company.payments.values(),
            "DEPOSIT": company.deposits.values(),
            "BANKFEE": company.bank_fees.values(),
            "CHECKINGACCOUNT": company.checking.values(),
            "GLACCOUNT": company.gl_accounts.values(),
            "AUDITHISTORY": company.audit,
        }
        if object == "ARINVOICEITEM":
            seen = {
                key for key, invoice in company.invoices.items() if self.visible(session, invoice)
            }
            found = [line for line in company.lines.values() if int(line["RECORDKEY"]) in seen]
        elif object in SHARED:
            found = list(tables[object])  # the company's set-up: every entity's
        elif object in tables:
            found = [r for r in tables[object] if self.visible(session, r, object)]
        else:
            raise Refused("DL02000001", f"There is no object {object}")
        return sorted(found, key=lambda r: int(r.get("RECORDNO") or r.get("ID") or 0))
