"""The SuperOps sandbox's accounts (one per customer subdomain) in memory.

Records are kept in the shape the GraphQL schema answers. Every change
stamps `updatedTime` from the sandbox's clock; an invoice's amountDue is its
total less the payments recorded on it.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import count
from typing import Any

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


class GraphQLFault(Exception):
    """An error the API answers in `errors`, with its extensions code."""

    def __init__(self, message: str, code: str = "BAD_REQUEST") -> None:
        super().__init__(message)
        self.extensions = {"code": code}


@dataclass
class Account:
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    client_ids: count = field(default_factory=lambda: count(1001))
    user_ids: count = field(default_factory=lambda: count(7001))
    invoice_ids: count = field(default_factory=lambda: count(50001))
    item_ids: count = field(default_factory=lambda: count(900001))
    payment_ids: count = field(default_factory=lambda: count(300001))


class Store:
    def __init__(self, now: Callable[[], dt.datetime] | None = None) -> None:
        self.now = now or (lambda: dt.datetime.now(dt.UTC))
        self.accounts: dict[str, Account] = {}
        self.lock = threading.RLock()

    def account(self, subdomain: str) -> Account:
        with self.lock:
            return self.accounts.setdefault(subdomain, Account())

    def stamp(self) -> str:
        return self.now().astimezone(dt.UTC).isoformat(timespec="microseconds")

    # -- what a person does in SuperOps ------------------------------------------

    def client(
        self, subdomain: str, name: str, *, email: str = "", billing: dict | None = None
    ) -> dict[str, Any]:
        with self.lock:
            account = self.account(subdomain)
            client = {
                "accountId": str(next(account.client_ids)), "name": name, "email": email,
                "phone": "", "status": "Active", "billingContact": None,
                "primaryContact": None, "updatedTime": self.stamp(),
            }  # fmt: skip
            if billing:
                client["billingContact"] = {"userId": str(next(account.user_ids)), **billing}
            account.clients[client["accountId"]] = client
            return client

    def update_client(self, subdomain: str, account_id: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            client = self.account(subdomain).clients[account_id]
            client.update(fields, updatedTime=self.stamp())
            return client

    def delete_client(self, subdomain: str, account_id: str) -> None:
        with self.lock:
            del self.account(subdomain).clients[account_id]

    def invoice(
        self,
        subdomain: str,
        account_id: str,
        items: list[tuple[str, Decimal | str | int, Decimal | str]],
        *,
        number: str = "",
        issued: dt.date | None = None,
        due: dt.date | None = None,
        currency: str = "USD",
    ) -> dict[str, Any]:
        """Add an invoice of (details, quantity, unit price) items to a client."""
        with self.lock:
            account = self.account(subdomain)
            client = account.clients[account_id]
            invoice_id = str(next(account.invoice_ids))
            issued = issued or self.now().date()
            invoice = {
                "invoiceId": invoice_id, "displayId": number or f"INV-{invoice_id}",
                "client": {"accountId": account_id, "name": client["name"]},
                "invoiceDate": issued.isoformat(),
                "dueDate": (due or issued + dt.timedelta(days=30)).isoformat(),
                "statusEnum": "SENT", "currencyCode": currency, "notes": "",
                "paymentTerm": "Net 30", "payments": [],
            }  # fmt: skip
            self._set_items(account, invoice, items)
            account.invoices[invoice_id] = invoice
            return invoice

    def change_items(self, subdomain: str, invoice_id: str, items: list[tuple]) -> None:
        with self.lock:
            account = self.account(subdomain)
            self._set_items(account, account.invoices[invoice_id], items)

    def void_invoice(self, subdomain: str, invoice_id: str) -> None:
        with self.lock:
            invoice = self.account(subdomain).invoices[invoice_id]
            invoice.update(statusEnum="VOID", updatedTime=self.stamp())

    def delete_invoice(self, subdomain: str, invoice_id: str) -> None:
        with self.lock:
            del self.account(subdomain).invoices[invoice_id]

    def _set_items(self, account: Account, invoice: dict, items: list[tuple]) -> None:
        rows = []
        for details, quantity, price in items:
            total = Decimal(str(quantity)) * Decimal(str(price))
            rows.append({
                "itemId": str(next(account.item_ids)), "details": details,
                "serviceItemName": details, "quantity": str(quantity),
                "unitPrice": str(Decimal(str(price))), "taxAmount": "0.00",
                "total": str(total.quantize(Decimal("0.01"))),
            })  # fmt: skip
        invoice["items"] = rows
        self._total(invoice)

    def _total(self, invoice: dict) -> None:
        total = sum((Decimal(item["total"]) for item in invoice["items"]), Decimal(0))
        paid = sum((Decimal(p["amount"]) for p in invoice["payments"]), Decimal(0))
        invoice["totalAmount"] = str(total.quantize(Decimal("0.01")))
        invoice["amountDue"] = str((total - paid).quantize(Decimal("0.01")))
        if invoice["statusEnum"] != "VOID":
            invoice["statusEnum"] = "PAID" if total and paid >= total else "SENT"
        invoice["updatedTime"] = self.stamp()

    # -- what the API does -------------------------------------------------------

    def record_payment(self, subdomain: str, data: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            account = self.account(subdomain)
            invoice = account.invoices.get(str(data["invoice"]["invoiceId"]))
            if invoice is None:
                raise GraphQLFault("Invoice not found", "NOT_FOUND")
            if invoice["statusEnum"] == "VOID":
                raise GraphQLFault("A void invoice takes no payment")
            try:
                amount = Decimal(data["amount"])
                dt.date.fromisoformat(data["paymentDate"])
            except (ArithmeticError, ValueError):
                raise GraphQLFault("amount or paymentDate is not valid") from None
            if amount <= 0 or amount > Decimal(invoice["amountDue"]):
                raise GraphQLFault("The amount is more than the invoice's amount due")
            payment = {
                "paymentId": str(next(account.payment_ids)), "amount": str(amount),
                "paymentDate": data["paymentDate"],
                "paymentMode": data.get("paymentMode") or "OTHER",
                "reference": data.get("reference") or "",
            }  # fmt: skip
            invoice["payments"].append(payment)
            self._total(invoice)
            return payment

    def delete_payment(self, subdomain: str, payment_id: str) -> bool:
        with self.lock:
            for invoice in self.account(subdomain).invoices.values():
                for payment in invoice["payments"]:
                    if payment["paymentId"] == str(payment_id):
                        invoice["payments"].remove(payment)
                        self._total(invoice)
                        return True
            raise GraphQLFault("Payment not found", "NOT_FOUND")

    def page(
        self, rows: list[dict[str, Any]], info: dict[str, Any], id_field: str
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Return one page of rows, filtered and sorted as a ListInfoInput asks."""
        page = info.get("page") or 1
        size = info.get("pageSize") or DEFAULT_PAGE_SIZE
        if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
            raise GraphQLFault(f"page is 1 or more, pageSize 1 to {MAX_PAGE_SIZE}")
        if info.get("condition"):
            test = condition(info["condition"])
            rows = [row for row in rows if test(row)]
        rows = sorted(rows, key=lambda row: int(row[id_field]))
        for rule in reversed(info.get("sort") or []):
            attribute = rule["attribute"]
            if attribute not in (id_field, "updatedTime"):
                raise GraphQLFault(f"cannot sort by {attribute}")
            key = (lambda r: int(r[id_field])) if attribute == id_field else (
                lambda r: r["updatedTime"])  # fmt: skip
            rows = sorted(rows, key=key, reverse=rule.get("order") == "DESC")
        chunk = rows[(page - 1) * size : page * size]
        list_info = {
            "page": page, "pageSize": size, "totalCount": len(rows),
            "hasMore": page * size < len(rows),
        }  # fmt: skip
        return chunk, list_info


OPERATORS = {
    "is": lambda a, b: a == b,
    "greaterThan": lambda a, b: a > b,
    "greaterThanOrEqual": lambda a, b: a >= b,
    "lessThan": lambda a, b: a < b,
}


def condition(spec: Any) -> Callable[[dict[str, Any]], bool]:
    """Return the test a condition makes: {attribute, operator, value} or joined operands."""
    if not isinstance(spec, dict):
        raise GraphQLFault("condition is an object")
    if "joinOperator" in spec:
        tests = [condition(operand) for operand in spec.get("operands") or []]
        join = all if spec["joinOperator"] == "AND" else any
        return lambda row: join(test(row) for test in tests)
    attribute, operator, value = spec.get("attribute"), spec.get("operator"), spec.get("value")
    if attribute != "updatedTime" or operator not in OPERATORS:
        raise GraphQLFault(f"cannot filter on {attribute} {operator}")
    try:
        bound = _moment(value)
    except (TypeError, ValueError):
        raise GraphQLFault("updatedTime is an ISO 8601 time") from None
    return lambda row: OPERATORS[operator](_moment(row["updatedTime"]), bound)


def _moment(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
