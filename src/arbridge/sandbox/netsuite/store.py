"""The sandbox's NetSuite accounts: records kept as the record service shows them.

# Reference: https://system.netsuite.com/help/helpcenter/en_US/APIs/REST_API_Browser/record/v1/2024.2/index.html
# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_158394344595.html

Each account holds customers, invoices, credit memos, customer payments,
deposits and its chart of accounts, each with an internal id (counting from
100), an optional externalId and a lastModifiedDate stamped from the store's
clock; deleted records leave a row in DeletedRecord. Payments and credit
memos applied to an invoice lower its amountRemaining; an invoice fully
paid is "Paid In Full". A write that breaks a rule raises `Invalid`, which
the app answers as NetSuite does (400 with o:errorDetails).
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from arbridge.sandbox.netsuite.auth import Auth

TYPES = ("customer", "contact", "invoice", "creditMemo", "customerPayment", "deposit", "account")
# SuiteQL's transaction type for each transaction record.
TRANSACTION_TYPES = {
    "invoice": "CustInvc",
    "creditMemo": "CustCred",
    "customerPayment": "CustPymt",
    "deposit": "Deposit",
}
CHART = (
    ("1", "1000", "Checking", "Bank"),
    ("2", "1200", "Undeposited Funds", "OthCurrAsset"),
    ("3", "6100", "Merchant Fees", "Expense"),
    ("4", "4900", "Surcharge Income", "OthIncome"),
)


class Invalid(Exception):  # noqa: N818 - NetSuite's word for it
    def __init__(self, detail: str, status: int = 400, code: str = "INVALID_KEY_OR_REF") -> None:
        super().__init__(detail)
        self.detail, self.status, self.code = detail, status, code

    def body(self) -> dict[str, Any]:
        titles = {400: "Bad Request", 404: "Record Not Found", 429: "Too Many Requests"}
        return {
            "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
            "title": titles.get(self.status, "Error"),
            "status": self.status,
            "o:errorDetails": [{"detail": self.detail, "o:errorCode": self.code}],
        }


def amount(value: Any, name: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise Invalid(f"Invalid {name}: {value!r}", code="INVALID_FLD_VALUE") from None
    if not number.is_finite():
        raise Invalid(f"Invalid {name}: {value!r}", code="INVALID_FLD_VALUE")
    return number


def ref_id(value: Any) -> str:
    return str(value.get("id") or "") if isinstance(value, dict) else str(value or "")


def sublist(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = body.get(name)
    found = value.get("items") if isinstance(value, dict) else None
    return [dict(i) for i in found or [] if isinstance(i, dict)]


@dataclass
class Account:
    id: str
    name: str
    records: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {t: {} for t in TYPES}
    )
    deleted: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 100
    concurrency: int = 5


class Store:
    def __init__(self, *, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.accounts: dict[str, Account] = {}
        # The integrations' certificates and the tokens issued: the store's, so every app
        # serving it (the demo builds one per webhook setting) knows them.
        self.auth = Auth()
        self.lock = threading.RLock()

    def now(self) -> dt.datetime:
        return self.clock().replace(microsecond=0)

    def add_account(self, account_id: str, name: str = "", concurrency: int = 5) -> Account:
        with self.lock:
            account = self.accounts.get(account_id)
            if account is None:
                account = self.accounts[account_id] = Account(account_id, name or account_id)
                for id, number, title, kind in CHART:
                    account.records["account"][id] = {
                        "id": id,
                        "acctnumber": number,
                        "accountsearchdisplaynamecopy": title,
                        "accttype": kind,
                        "isinactive": "F",
                        "lastmodifieddate": self.now(),
                    }
            account.concurrency = concurrency
            return account

    def account(self, account_id: str) -> Account:
        try:
            return self.accounts[account_id]
        except KeyError:
            raise Invalid("Unknown account", status=404, code="NONEXISTENT_ID") from None

    # -- reading ----------------------------------------------------------------------

    def get(self, account_id: str, kind: str, key: str) -> dict[str, Any]:
        records = self.account(account_id).records.get(kind)
        if records is None:
            raise Invalid(f"Record type {kind} does not exist", status=404, code="NONEXISTENT_ID")
        if key.startswith("eid:"):
            for record in records.values():
                if record.get("externalId") == key[4:]:
                    return record
        elif key in records:
            return records[key]
        raise Invalid(f"The record {kind} {key} was not found.", status=404, code="NONEXISTENT_ID")

    def rows(self, account_id: str, table: str) -> list[dict[str, Any]]:
        """Return a SuiteQL table's rows, their columns in lower case."""
        account = self.account(account_id)
        if table == "deletedrecord":
            return list(account.deleted)
        if table == "account":
            return list(account.records["account"].values())
        if table == "customer":
            return [
                {
                    "id": c["id"],
                    "entityid": c.get("entityId"),
                    "companyname": c.get("companyName"),
                    "lastmodifieddate": c["lastModifiedDate"],
                    "isinactive": "T" if c.get("isInactive") else "F",
                }
                for c in account.records["customer"].values()
            ]
        if table == "transaction":
            return [
                {
                    "id": r["id"],
                    "type": TRANSACTION_TYPES[kind],
                    "tranid": r.get("tranId"),
                    "lastmodifieddate": r["lastModifiedDate"],
                }
                for kind in TRANSACTION_TYPES
                for r in account.records[kind].values()
            ]
        raise Invalid(f"Unknown table {table}", code="INVALID_SEARCH")

    # -- writing ----------------------------------------------------------------------

    def new_id(self, account: Account) -> str:
        account.next_id += 1
        return str(account.next_id)

    def save(self, account_id: str, kind: str, body: dict[str, Any], key: str | None = None) -> str:
        """Create (key None, or an external id not yet used) or update a record; return its id."""
        with self.lock:
            account = self.account(account_id)
            if kind not in account.records or kind == "account":
                raise Invalid(f"Record type {kind} cannot be written", code="INVALID_RCRD_TYPE")
            current = None
            if key is not None:
                try:
                    current = self.get(account_id, kind, key)
                except Invalid:
                    if not key.startswith("eid:"):
                        raise
            record = copy.deepcopy(current) if current else {"id": self.new_id(account)}
            if key and key.startswith("eid:"):
                record["externalId"] = key[4:]
            incoming = {k: v for k, v in body.items() if k not in ("id", "lastModifiedDate")}
            old = copy.deepcopy(current)
            if current is not None:
                self.unapply(account, current)
            try:
                record.update(incoming)
                getattr(self, f"_{kind}")(account, record)
            except Invalid:
                if old is not None:
                    self.reapply(account, old)
                raise
            record["lastModifiedDate"] = self.now()
            account.records[kind][record["id"]] = record
            self.reapply(account, record)
            return record["id"]

    def delete(self, account_id: str, kind: str, key: str) -> None:
        with self.lock:
            account = self.account(account_id)
            record = self.get(account_id, kind, key)
            self.unapply(account, record)
            del account.records[kind][record["id"]]
            account.deleted.append(
                {
                    "recordid": record["id"],
                    "recordtype": kind.lower(),
                    "deleteddate": self.now(),
                    "lastmodifieddate": self.now(),
                }
            )

    def void(self, account_id: str, invoice_id: str) -> None:
        with self.lock:
            invoice = self.get(account_id, "invoice", invoice_id)
            if any(self.applied_to(self.account(account_id), invoice_id)):
                raise Invalid("A transaction with applied payments cannot be voided")
            invoice.update(status={"id": "V", "refName": "Voided"}, amountRemaining=Decimal(0))
            invoice["lastModifiedDate"] = self.now()

    # -- rules ------------------------------------------------------------------------

    def _customer(self, account: Account, record: dict[str, Any]) -> None:
        if not (record.get("companyName") or record.get("entityId")):
            raise Invalid("Please enter a value for Company Name.", code="USER_ERROR")
        record.setdefault("entityId", record.get("companyName"))
        record.setdefault("isInactive", False)
        record.setdefault("currency", {"id": "1", "refName": "USD"})
        record["contactRoles"] = {"items": sublist(record, "contactRoles")}

    def _lines(self, record: dict[str, Any]) -> Decimal:
        lines = []
        for n, line in enumerate(sublist(record, "item"), start=1):
            quantity = amount(line.get("quantity", 1), "quantity")
            rate = amount(line.get("rate", line.get("amount", 0)), "rate")
            lines.append(
                {
                    **line,
                    "line": n,
                    "quantity": quantity,
                    "rate": rate,
                    "amount": amount(line.get("amount", quantity * rate), "amount"),
                }
            )
        record["item"] = {"items": lines}
        return sum((line["amount"] for line in lines), Decimal(0))

    def _customer_of(self, account: Account, record: dict[str, Any], field: str) -> str:
        customer_id = ref_id(record.get(field))
        customer = account.records["customer"].get(customer_id)
        if customer is None:
            raise Invalid(f"Invalid {field} reference key {customer_id}.")
        record[field] = {"id": customer_id, "refName": customer.get("companyName")}
        return customer_id

    def _invoice(self, account: Account, record: dict[str, Any]) -> None:
        self._customer_of(account, record, "entity")
        record["total"] = self._lines(record)
        record.setdefault("tranId", f"INV{record['id']}")
        record.setdefault("tranDate", self.now().date().isoformat())
        record.setdefault("currency", {"id": "1", "refName": "USD"})
        record.setdefault("status", {"id": "A", "refName": "Open"})
        applied = sum((a["amount"] for a in self.applied_to(account, record["id"])), Decimal(0))
        record["amountRemaining"] = record["total"] - applied
        if record["status"]["refName"] != "Voided":
            record["status"] = self.status(record)

    def _creditMemo(self, account: Account, record: dict[str, Any]) -> None:  # noqa: N802
        customer_id = self._customer_of(account, record, "entity")
        record["total"] = self._lines(record)
        record.setdefault("tranId", f"CM{record['id']}")
        record.setdefault("tranDate", self.now().date().isoformat())
        record.setdefault("currency", {"id": "1", "refName": "USD"})
        self._apply(account, record, customer_id, record["total"])

    def _customerPayment(self, account: Account, record: dict[str, Any]) -> None:  # noqa: N802
        customer_id = self._customer_of(account, record, "customer")
        record["payment"] = amount(record.get("payment", 0), "payment")
        if record["payment"] <= 0:
            raise Invalid("The payment amount must be greater than zero.", code="INVALID_FLD_VALUE")
        record.setdefault("tranId", f"PYMT{record['id']}")
        record.setdefault("tranDate", self.now().date().isoformat())
        record.setdefault("currency", {"id": "1", "refName": "USD"})
        self._apply(account, record, customer_id, record["payment"])

    def _apply(self, account: Account, record: dict[str, Any], customer_id: str, total: Decimal):
        applied = []
        for line in sublist(record, "apply"):
            if not line.get("apply", True):
                continue
            invoice = account.records["invoice"].get(ref_id(line.get("doc")))
            if invoice is None or ref_id(invoice["entity"]) != customer_id:
                raise Invalid(f"Invalid apply reference key {ref_id(line.get('doc'))}.")
            if invoice["status"]["refName"] == "Voided":
                raise Invalid(f"The invoice {invoice['id']} is voided.", code="USER_ERROR")
            value = amount(line.get("amount"), "amount")
            if value <= 0 or value > invoice["amountRemaining"]:
                raise Invalid(
                    f"{value} is more than invoice {invoice['id']} owes.", code="USER_ERROR"
                )
            applied.append(
                {
                    "doc": {"id": invoice["id"], "refName": invoice["tranId"]},
                    "apply": True,
                    "amount": value,
                    "total": invoice["total"],
                }
            )
        if sum((a["amount"] for a in applied), Decimal(0)) > total:
            raise Invalid("The amount applied is more than the total.", code="USER_ERROR")
        record["apply"] = {"items": applied}

    def _deposit(self, account: Account, record: dict[str, Any]) -> None:
        total = Decimal(0)
        for line in sublist(record, "payment"):
            payment = account.records["customerPayment"].get(ref_id(line.get("doc")))
            if payment is None:
                raise Invalid(f"Invalid payment reference key {ref_id(line.get('doc'))}.")
            total += amount(line.get("paymentAmount", payment["payment"]), "paymentAmount")
        for line in sublist(record, "other"):
            total += amount(line.get("amount"), "amount")
        for line in sublist(record, "cashBack"):
            total -= amount(line.get("amount"), "amount")
        if ref_id(record.get("account")) not in account.records["account"]:
            raise Invalid("Invalid account reference key.")
        record["total"] = total

    # -- applications lower balances ----------------------------------------------------

    def applied_to(self, account: Account, invoice_id: str):
        for kind in ("customerPayment", "creditMemo"):
            for record in account.records[kind].values():
                for line in sublist(record, "apply"):
                    if ref_id(line.get("doc")) == invoice_id:
                        yield line

    def unapply(self, account: Account, record: dict[str, Any]) -> None:
        self._move(account, record, +1)

    def reapply(self, account: Account, record: dict[str, Any]) -> None:
        self._move(account, record, -1)

    def _move(self, account: Account, record: dict[str, Any], sign: int) -> None:
        for line in sublist(record, "apply"):
            invoice = account.records["invoice"].get(ref_id(line.get("doc")))
            if invoice is None:
                continue
            invoice["amountRemaining"] += sign * amount(line["amount"], "amount")
            invoice["status"] = self.status(invoice)
            invoice["lastModifiedDate"] = self.now()

    @staticmethod
    def status(invoice: dict[str, Any]) -> dict[str, str]:
        if invoice["amountRemaining"] == 0 and invoice["total"] > 0:
            return {"id": "B", "refName": "Paid In Full"}
        return {"id": "A", "refName": "Open"}
