"""The sandbox's QuickBooks Desktop company file: its records and a bookkeeper's actions.

# Reference: https://developer.intuit.com/app/developer/qbdesktop/docs/api-reference/qbdesktop
# Reference: https://static.developer.intuit.com/qbSDK-current/doc/PDF/QBSDK_ProGuide.pdf

Records are small dicts with Decimal amounts, rendered to qbXML only when a
request asks (requests.py). Each has QuickBooks' ids (a customer's ListID,
a transaction's TxnID), an EditSequence that changes on every edit and a
TimeModified from the company's clock. An invoice's balance is what its
payments and linked credit memos leave. Deleted transactions and customers
are remembered with when they went, for TxnDeletedQuery/ListDeletedQuery.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ZERO = Decimal("0.00")
UNDEPOSITED = "Undeposited Funds"
ACCOUNTS = (UNDEPOSITED, "Checking", "Merchant Fees", "Surcharge Income", "Accounts Receivable")


class Refused(Exception):
    """A request QuickBooks answers with an error status."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Company:
    """One company file, as open in QuickBooks on the partner's PC."""

    name: str = "Harbor IT Services"
    clock: Callable[[], dt.datetime] = utcnow
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    credit_memos: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    deposits: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: list[tuple[str, str, dt.datetime]] = field(default_factory=list)
    # One-shot status errors by request name ("ReceivePaymentAddRq": (3200, "...")).
    failing: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        # Invoice TxnID -> the payments and credit memos applied to it.
        self._applied: dict[str, set[str]] = defaultdict(set)

    # -- ids and versions -------------------------------------------------------

    def _touch(self, record: dict[str, Any]) -> dict[str, Any]:
        record["TimeModified"] = self.clock().replace(microsecond=0)
        record["EditSequence"] = str(
            int(record["TimeModified"].timestamp()) * 100 + next(self._ids) % 100
        )
        return record

    def _list_id(self) -> str:
        return f"{80000000 + next(self._ids):X}-{int(self.clock().timestamp())}"

    def _txn_id(self) -> str:
        return f"{next(self._ids):X}-{int(self.clock().timestamp())}"

    def fail_next(self, request: str, code: int, message: str) -> None:
        """Answer the next request of this name ("ReceivePaymentAddRq") with an error status."""
        self.failing.setdefault(request, []).append((code, message))

    # -- customers --------------------------------------------------------------

    def add_customer(self, name: str, email: str = "", contact: str = "") -> str:
        with self.lock:
            if any(c["Name"].lower() == name.lower() for c in self.customers.values()):
                raise Refused(3100, f'The name "{name}" of the list element is already in use.')
            list_id = self._list_id()
            self.customers[list_id] = self._touch(
                {
                    "ListID": list_id,
                    "Name": name,
                    "IsActive": True,
                    "Email": email,
                    "Contact": contact,
                }
            )
            return list_id

    def change_customer(self, list_id: str, **fields: Any) -> None:
        with self.lock:
            self.customers[list_id].update(fields)
            self._touch(self.customers[list_id])

    def delete_customer(self, list_id: str) -> None:
        with self.lock:
            del self.customers[list_id]
            self.deleted.append(("Customer", list_id, self.clock()))

    # -- invoices ---------------------------------------------------------------

    def add_invoice(
        self,
        customer: str,
        lines: list[tuple[str, Decimal]],
        *,
        number: str | None = None,
        date: dt.date | None = None,
        terms_days: int = 30,
    ) -> str:
        with self.lock:
            if customer not in self.customers:
                raise Refused(
                    3140, f'There is an invalid reference to QuickBooks Customer "{customer}".'
                )
            txn_id = self._txn_id()
            day = date or self.clock().date()
            self.invoices[txn_id] = self._touch(
                {
                    "TxnID": txn_id,
                    "Customer": customer,
                    "RefNumber": number or str(1000 + len(self.invoices) + 1),
                    "TxnDate": day,
                    "DueDate": day + dt.timedelta(days=terms_days),
                    "Memo": "",
                    "Lines": [(desc, Decimal(amount)) for desc, amount in lines],
                }
            )
            return txn_id

    def change_invoice(self, txn_id: str, lines: list[tuple[str, Decimal]]) -> None:
        with self.lock:
            invoice = self.invoices[txn_id]
            invoice["Lines"] = [(desc, Decimal(amount)) for desc, amount in lines]
            self._touch(invoice)

    def void_invoice(self, txn_id: str) -> None:
        with self.lock:
            invoice = self.invoices[txn_id]
            invoice["Lines"] = [(desc, ZERO) for desc, _ in invoice["Lines"]]
            invoice["Memo"] = "VOID: " + invoice["Memo"]
            self._touch(invoice)

    def subtotal(self, invoice: dict[str, Any]) -> Decimal:
        return sum((amount for _, amount in invoice["Lines"]), ZERO)

    def applied(self, txn_id: str) -> Decimal:
        total = ZERO
        for other in self._applied.get(txn_id, ()):
            record = self.payments.get(other) or self.credit_memos.get(other) or {}
            for invoice, amount in record.get("Applied", []) + record.get("Links", []):
                if invoice == txn_id:
                    total += amount
        return total

    def balance(self, txn_id: str) -> Decimal:
        invoice = self.invoices[txn_id]
        return max(ZERO, self.subtotal(invoice) - self.applied(txn_id))

    # -- credit memos and payments ----------------------------------------------

    def add_credit_memo(self, customer: str, amount: Decimal, invoice: str | None = None) -> str:
        with self.lock:
            txn_id = self._txn_id()
            links = [(invoice, Decimal(amount))] if invoice else []
            self.credit_memos[txn_id] = self._touch(
                {
                    "TxnID": txn_id,
                    "Customer": customer,
                    "RefNumber": f"CM{len(self.credit_memos) + 1}",
                    "TxnDate": self.clock().date(),
                    "Amount": Decimal(amount),
                    "Links": links,
                }
            )
            if invoice:
                self._applied[invoice].add(txn_id)
                self._touch(self.invoices[invoice])
            return txn_id

    def receive_payment(
        self,
        customer: str,
        applied: list[tuple[str, Decimal]],
        *,
        ref_number: str = "",
        memo: str = "",
        date: dt.date | None = None,
        total: Decimal | None = None,
        deposit_to: str = UNDEPOSITED,
        method: str = "",
    ) -> str:
        """Record a payment received, as a bookkeeper or a ReceivePaymentAdd does."""
        with self.lock:
            if customer not in self.customers:
                raise Refused(
                    3140, f'There is an invalid reference to QuickBooks Customer "{customer}".'
                )
            for invoice, amount in applied:
                if invoice not in self.invoices:
                    raise Refused(
                        3120, f'Object "{invoice}" specified in the request cannot be found.'
                    )
                if self.invoices[invoice]["Customer"] != customer:
                    raise Refused(3250, f"Invoice {invoice} is not the customer's.")
                if amount > self.balance(invoice):
                    raise Refused(
                        3250, f"The payment of {amount} is more than invoice {invoice} owes."
                    )
            if deposit_to not in ACCOUNTS:
                raise Refused(
                    3140, f'There is an invalid reference to QuickBooks Account "{deposit_to}".'
                )
            txn_id = self._txn_id()
            self.payments[txn_id] = self._touch(
                {
                    "TxnID": txn_id,
                    "Customer": customer,
                    "TxnDate": date or self.clock().date(),
                    "RefNumber": ref_number,
                    "TotalAmount": total
                    if total is not None
                    else sum((a for _, a in applied), ZERO),
                    "Memo": memo,
                    "DepositTo": deposit_to,
                    "Method": method,
                    "Applied": [(inv, Decimal(a)) for inv, a in applied],
                }
            )
            for invoice, _ in applied:
                self._applied[invoice].add(txn_id)
                self._touch(self.invoices[invoice])
            return txn_id

    def delete_txn(self, kind: str, txn_id: str) -> None:
        with self.lock:
            table = {
                "Invoice": self.invoices,
                "ReceivePayment": self.payments,
                "CreditMemo": self.credit_memos,
                "Deposit": self.deposits,
            }.get(kind)
            if table is None or txn_id not in table:
                raise Refused(3120, f'Object "{txn_id}" specified in the request cannot be found.')
            if kind == "ReceivePayment" and any(
                txn_id in d["Payments"] for d in self.deposits.values()
            ):
                raise Refused(3260, "The payment is in a deposit; delete the deposit first.")
            record = table.pop(txn_id)
            for invoice, _ in record.get("Applied", []) + record.get("Links", []):
                if invoice in self.invoices:
                    self._touch(self.invoices[invoice])
            self.deleted.append((kind, txn_id, self.clock()))

    def add_deposit(
        self,
        bank: str,
        date: dt.date,
        memo: str,
        payments: list[str],
        others: list[tuple[str, Decimal, str]],
    ) -> str:
        with self.lock:
            if bank not in ACCOUNTS:
                raise Refused(
                    3140, f'There is an invalid reference to QuickBooks Account "{bank}".'
                )
            for payment in payments:
                if payment not in self.payments:
                    raise Refused(
                        3120, f'Object "{payment}" specified in the request cannot be found.'
                    )
                if any(payment in d["Payments"] for d in self.deposits.values()):
                    raise Refused(3250, f"Payment {payment} is already deposited.")
            for account, _, _ in others:
                if account not in ACCOUNTS:
                    raise Refused(
                        3140, f'There is an invalid reference to QuickBooks Account "{account}".'
                    )
            txn_id = self._txn_id()
            total = sum((self.payments[p]["TotalAmount"] for p in payments), ZERO) + sum(
                (amount for _, amount, _ in others), ZERO
            )
            self.deposits[txn_id] = self._touch(
                {
                    "TxnID": txn_id,
                    "TxnDate": date,
                    "Bank": bank,
                    "Memo": memo,
                    "Payments": list(payments),
                    "Others": list(others),
                    "Total": total,
                }
            )
            return txn_id

    def payments_of(self, invoice: str) -> list[str]:
        return sorted(other for other in self._applied.get(invoice, ()) if other in self.payments)
