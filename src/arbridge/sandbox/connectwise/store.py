"""The sandbox's records: companies, contacts, invoices, invoice payments, products, callbacks.

Records are kept as the API shows them (the spec's field names), each with
`_info.lastUpdated` stamped from the sandbox clock, so `conditions` on
lastUpdated work as they do in ConnectWise. Amounts are Decimal.

Deleting a company marks it `deletedFlag` (ConnectWise keeps deleted
companies); deleting a contact, an invoice or a payment removes it.
An invoice's `payments` and `balance` follow its payments: a payment lowers
the balance, deleting it restores the balance.

Products (ProductItem, /procurement/products) are an invoice's product lines:
one billed names its invoice in `invoice` (an InvoiceReference), and
deleting the invoice returns its products to unbilled (`invoice` null).
ProductItem is not in the spec's transcription; its fields are those of
ConnectWise's model as its generated clients publish it
(Jetbuilt/connect_wise docs/ProductItem.md: catalogItem, description,
quantity, price, extPrice, invoice, billableOption).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
TABLES = ("companies", "contacts", "invoices", "payments", "products", "callbacks")
# Which callback `type` a table's changes are announced under.
CALLBACK_TYPES = {"companies": "company", "contacts": "contact", "invoices": "invoice"}


class ApiError(Exception):
    """A refusal answered as ConnectWise does: {"code", "message", "errors"}."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "errors": None}


def not_found(what: str, id: int) -> ApiError:
    return ApiError(404, "NotFound", f"{what} recId {id} not found")


def invalid(message: str) -> ApiError:
    return ApiError(400, "InvalidObject", message)


def money(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise invalid(f"{field} must be a number") from None
    if not amount.is_finite():
        raise invalid(f"{field} must be a number")
    return amount.quantize(CENT)


def number(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise invalid(f"{field} must be a number") from None
    if not amount.is_finite():
        raise invalid(f"{field} must be a number")
    return amount


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reference(row: dict[str, Any] | None, *keys: str) -> dict[str, Any] | None:
    """Return a `*Reference` object ({id, name, ...}) for a record."""
    if row is None:
        return None
    return {"id": row["id"], **{key: row.get(key) for key in keys}, "_info": {}}


class Store:
    """One ConnectWise company's (tenant's) records, and what changed for callbacks."""

    def __init__(self, clock: Callable[[], dt.datetime]) -> None:
        self.clock = clock
        self.tables: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in TABLES}
        self.next_id = dict.fromkeys(TABLES, 1)
        self.changes: list[tuple[str, str, dict[str, Any]]] = []  # (type, action, record)
        self.lock = threading.RLock()

    def get(self, table: str, id: int) -> dict[str, Any]:
        row = self.tables[table].get(id)
        if row is None:
            raise not_found(table.rstrip("s").title(), id)
        return row

    def rows(self, table: str) -> list[dict[str, Any]]:
        return list(self.tables[table].values())

    def _save(self, table: str, row: dict[str, Any], action: str) -> dict[str, Any]:
        if "id" not in row:
            row["id"] = self.next_id[table]
            self.next_id[table] += 1
        now = stamp(self.clock())
        info = row.setdefault("_info", {})
        info.setdefault("dateEntered", now)
        info.update(lastUpdated=now, updatedBy="arbridge-api")
        self.tables[table][row["id"]] = row
        if table in CALLBACK_TYPES:
            self.changes.append((CALLBACK_TYPES[table], action, row))
        return row

    # -- companies and contacts ----------------------------------------------

    def save_company(self, body: dict[str, Any], id: int | None = None) -> dict[str, Any]:
        with self.lock:
            row = dict(self.get("companies", id)) if id else {"deletedFlag": False}
            row.update({k: v for k, v in body.items() if k not in ("id", "_info")})
            if not str(row.get("name") or "").strip():
                raise invalid("name is required")
            row.setdefault("identifier", str(row["name"]).replace(" ", "")[:25])
            return self._save("companies", row, "updated" if id else "added")

    def delete_company(self, id: int) -> None:
        with self.lock:
            row = dict(self.get("companies", id))
            row["deletedFlag"] = True
            self._save("companies", row, "deleted")

    def save_contact(self, body: dict[str, Any], id: int | None = None) -> dict[str, Any]:
        with self.lock:
            row = dict(self.get("contacts", id)) if id else {
                "defaultBillingFlag": False, "inactiveFlag": False, "communicationItems": [],
            }  # fmt: skip
            row.update({k: v for k, v in body.items() if k not in ("id", "_info")})
            company = (row.get("company") or {}).get("id")
            if company is not None:
                row["company"] = reference(self.get("companies", int(company)),
                                           "identifier", "name")  # fmt: skip
            return self._save("contacts", row, "updated" if id else "added")

    def delete_contact(self, id: int) -> None:
        with self.lock:
            row = self.tables["contacts"].pop(self.get("contacts", id)["id"])
            self.changes.append(("contact", "deleted", row))

    # -- invoices and payments -----------------------------------------------

    def save_invoice(self, body: dict[str, Any], id: int | None = None) -> dict[str, Any]:
        with self.lock:
            row = dict(self.get("invoices", id)) if id else {
                "type": "Standard", "payments": Decimal("0.00"), "credits": Decimal("0.00"),
            }  # fmt: skip
            row.update({k: v for k, v in body.items() if k not in ("id", "_info", "balance")})
            company = (row.get("company") or {}).get("id")
            if company is None:
                raise invalid("company is required")
            row["company"] = reference(self.get("companies", int(company)),
                                       "identifier", "name")  # fmt: skip
            row["total"] = money(row.get("total", 0), "total")
            row["balance"] = row["total"] - row["payments"] - row["credits"]
            if row["balance"] < 0:
                raise invalid("total is less than what was paid")
            if id is None:
                row["id"] = self.next_id["invoices"]
                self.next_id["invoices"] += 1
                row.setdefault("invoiceNumber", str(1000 + row["id"]))
                row.setdefault("date", stamp(self.clock()))
            return self._save("invoices", row, "updated" if id else "added")

    def delete_invoice(self, id: int) -> None:
        with self.lock:
            row = self.tables["invoices"].pop(self.get("invoices", id)["id"])
            for payment in self.payments_of(id):
                del self.tables["payments"][payment["id"]]
            for product in self.rows("products"):
                if (product.get("invoice") or {}).get("id") == id:
                    self._save("products", {**product, "invoice": None}, "updated")
            self.changes.append(("invoice", "deleted", row))

    def payments_of(self, invoice_id: int) -> list[dict[str, Any]]:
        return [p for p in self.rows("payments") if p["invoice"]["id"] == invoice_id]

    def add_payment(self, invoice_id: int, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            invoice = dict(self.get("invoices", invoice_id))
            amount = money(body.get("amount"), "amount")
            if amount <= 0:
                raise invalid("amount must be greater than zero")
            if amount > invoice["balance"]:
                raise invalid(f"amount {amount} is more than the balance {invoice['balance']}")
            invoice["payments"] += amount
            invoice["balance"] -= amount
            self._save("invoices", invoice, "updated")
            payment = {
                "type": body.get("type") or "Payment",
                "source": body.get("source") or "",
                "invoice": {
                    "id": invoice_id,
                    "identifier": invoice["invoiceNumber"],
                    "billingType": invoice["type"],
                    "_info": {},
                },
                "amount": amount,
                "balance": invoice["balance"],
                "invoiceBalance": invoice["balance"],
                "invoiceTotal": invoice["total"],
                "paymentDate": body.get("paymentDate") or stamp(self.clock()),
                "appliedBy": "arbridge-api",
            }
            return self._save("payments", payment, "added")

    def delete_payment(self, invoice_id: int, id: int) -> None:
        with self.lock:
            payment = self.get("payments", id)
            if payment["invoice"]["id"] != invoice_id:
                raise not_found("InvoicePayment", id)
            invoice = dict(self.get("invoices", invoice_id))
            invoice["payments"] -= payment["amount"]
            invoice["balance"] += payment["amount"]
            del self.tables["payments"][id]
            self._save("invoices", invoice, "updated")

    # -- products --------------------------------------------------------------

    def save_product(self, body: dict[str, Any], id: int | None = None) -> dict[str, Any]:
        """Save a product line; its extPrice is quantity times price, as ConnectWise figures it."""
        with self.lock:
            row = dict(self.get("products", id)) if id else {
                "billableOption": "Billable", "description": "", "quantity": Decimal(1),
                "price": Decimal("0.00"), "invoice": None,
            }  # fmt: skip
            row.update({k: v for k, v in body.items() if k not in ("id", "_info", "extPrice")})
            catalog = row.get("catalogItem") or {}
            if not isinstance(catalog, dict) or not (
                catalog.get("id") or catalog.get("identifier")
            ):
                raise invalid("catalogItem is required")
            row["catalogItem"] = {"id": catalog.get("id"), "identifier": catalog.get("identifier"),
                                  "_info": {}}  # fmt: skip
            row["quantity"] = number(row["quantity"], "quantity")
            row["price"] = number(row["price"], "price")
            row["extPrice"] = (row["quantity"] * row["price"]).quantize(CENT)
            invoice_id = (row.get("invoice") or {}).get("id")
            if invoice_id is not None:
                invoice = self.get("invoices", int(invoice_id))
                row["invoice"] = {
                    "id": invoice["id"], "identifier": invoice["invoiceNumber"],
                    "billingType": invoice["type"], "applyToType": invoice.get("applyToType"),
                    "invoiceDate": invoice.get("date"), "_info": {},
                }  # fmt: skip
            return self._save("products", row, "updated" if id else "added")

    def delete_product(self, id: int) -> None:
        with self.lock:
            del self.tables["products"][self.get("products", id)["id"]]

    # -- callbacks -----------------------------------------------------------

    def add_callback(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            missing = [f for f in ("url", "objectId", "type", "level") if body.get(f) in (None, "")]
            if missing:
                raise invalid(f"{', '.join(missing)} required")
            row = {
                "description": "", "memberId": None, "payloadVersion": "", "inactiveFlag": False,
                "isSoapCallbackFlag": False, "isSelfSuppressedFlag": False,
                **{k: v for k, v in body.items() if k not in ("id", "_info")},
            }  # fmt: skip
            return self._save("callbacks", row, "added")

    def drain_changes(self) -> list[tuple[str, str, dict[str, Any]]]:
        with self.lock:
            changes, self.changes = self.changes, []
            return changes
