"""The FreshBooks sandbox's accounts and their records, kept in FreshBooks' JSON shapes.

# Reference: https://www.freshbooks.com/api/clients
# Reference: https://www.freshbooks.com/api/invoices
# Reference: https://www.freshbooks.com/api/payments
# Reference: https://www.freshbooks.com/api/webhooks
# Reference: ../shared/specs/freshbooks/freshbooks-openapi.ballerina-community.yaml

Amounts are {"amount": "12.30", "code": "USD"} with decimal strings, kept
exact. Each record's `updated` is FreshBooks' "YYYY-MM-DD HH:MM:SS" in US
Eastern time, which search[updated_min] compares with. Nothing is removed:
vis_state 1 marks a record deleted, 2 archived, and lists show them all. An
invoice's `outstanding` is its amount less its live payments (credits
included). A payment needs a live, non-draft invoice (else a 422).
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from arbridge.sandbox.freshbooks.oauth import Authority

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
EASTERN = ZoneInfo("America/New_York")
STAMP = "%Y-%m-%d %H:%M:%S"
RESOURCES = ("clients", "invoices", "payments")
SINGULAR = {"clients": "client", "invoices": "invoice", "payments": "payment"}
# What `include[]=` adds to a record; left out otherwise.
INCLUDED = {"clients": "contacts", "invoices": "lines"}
PAYMENT_TYPES = frozenset(
    {"Check", "Credit", "Cash", "Bank Transfer", "Credit Card", "Debit", "PayPal", "ACH", "Other"}
)


class Invalid(Exception):
    """A request FreshBooks refuses: errors in its response envelope."""

    def __init__(self, message: str, *, status: int = 422, errno: int = 1001, field: str = ""):
        super().__init__(message)
        self.status = status
        self.errno = errno
        self.field = field

    def body(self) -> dict[str, Any]:
        error = {"errno": self.errno, "message": str(self), "field": self.field}
        return {"response": {"errors": [error]}}


def not_found(what: str, id: Any) -> Invalid:
    return Invalid(f"The requested {what} {id} was not found.", status=404, errno=1012)


@dataclass(frozen=True)
class Event:
    account_id: str
    name: str  # "invoice.update", "callback.verify", ...
    object_id: int
    verifier: str = ""  # for callback.verify


@dataclass
class Account:
    id: str
    name: str
    business_id: int
    records: dict[str, dict[int, dict[str, Any]]] = field(
        default_factory=lambda: {name: {} for name in RESOURCES}
    )
    changed: dict[str, dict[int, dt.datetime]] = field(
        default_factory=lambda: {name: {} for name in RESOURCES}
    )
    callbacks: dict[int, dict[str, Any]] = field(default_factory=dict)
    verifiers: dict[int, str] = field(default_factory=dict)
    numbers: int = 0
    # invoice id -> the ids of its payments
    paid_by: dict[int, list[int]] = field(default_factory=dict)


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(EASTERN).strftime(STAMP)


def parse_stamp(value: str) -> dt.datetime:
    """Return search[updated_min] ("YYYY-MM-DD HH:MM:SS", US Eastern) as UTC; ValueError."""
    return dt.datetime.strptime(value.strip()[:19], STAMP).replace(tzinfo=EASTERN)


def cents(value: Any, name: str = "amount") -> Decimal:
    if isinstance(value, dict):
        value = value.get("amount")
    try:
        amount = Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        raise Invalid(f"{name} is not an amount: {value!r}", field=name) from None
    if not amount.is_finite():
        raise Invalid(f"{name} is not an amount: {value!r}", field=name)
    return amount


def money(amount: Decimal, code: str) -> dict[str, str]:
    return {"amount": f"{amount:.2f}", "code": code}


def quantity(value: Any) -> int | str:
    number = Decimal(str(value if value not in (None, "") else 1))
    return int(number) if number == number.to_integral_value() else str(number)


def random_id(length: int = 5) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


class Store:
    """Every account of the sandbox, behind one lock."""

    def __init__(self, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.skew = dt.timedelta()
        self.accounts: dict[str, Account] = {}
        self.auth = Authority(lambda: self.now().timestamp())
        self.listeners: list[Callable[[Event], None]] = []
        self.lock = threading.RLock()
        self.next_id = 1000

    def now(self) -> dt.datetime:
        return self.clock() + self.skew

    def add_account(self, account_id: str | None = None, name: str | None = None) -> str:
        with self.lock:
            account_id = account_id or random_id()
            if account_id not in self.accounts:
                self.next_id += 1
                self.accounts[account_id] = Account(
                    account_id, name or f"Sandbox business {account_id}", self.next_id
                )
            return account_id

    def account(self, account_id: str) -> Account:
        try:
            return self.accounts[account_id]
        except KeyError:
            raise not_found("account", account_id) from None

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def emit(self, account_id: str, name: str, object_id: int, verifier: str = "") -> None:
        for listener in self.listeners:
            listener(Event(account_id, name, object_id, verifier))

    def touch(self, account: Account, resource: str, record: dict[str, Any], verb: str) -> None:
        now = self.now()
        record["updated"] = stamp(now)
        account.changed[resource][int(record["id"])] = now.replace(microsecond=0)
        self.emit(account.id, f"{SINGULAR[resource]}.{verb}", int(record["id"]))

    # -- reading --------------------------------------------------------------

    def list(
        self,
        account_id: str,
        resource: str,
        *,
        since: dt.datetime | None = None,
        search: dict[str, str] | None = None,
        include: frozenset[str] = frozenset(),
        page: int = 1,
        per_page: int = 100,
    ) -> tuple[list[dict[str, Any]], int]:
        """Return a page of the records (every vis_state, in id order) changed at or
        after `since`, and how many there are in all."""
        with self.lock:
            account = self.account(account_id)
            changed = account.changed[resource]
            records = account.records[resource]
            matching = [
                id
                for id in sorted(records)
                if (since is None or changed[id] >= since)
                and all(str(records[id].get(k)) == v for k, v in (search or {}).items())
            ]
            start = (page - 1) * per_page
            chosen = matching[start : start + per_page]
            return [render(resource, records[id], include) for id in chosen], len(matching)

    def get(
        self, account_id: str, resource: str, id: int, include: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        with self.lock:
            record = self.account(account_id).records[resource].get(id)
            if record is None:
                raise not_found(SINGULAR[resource], id)
            return render(resource, record, include)

    # -- clients --------------------------------------------------------------

    def save_client(self, account_id: str, fields: dict[str, Any], id: int | None = None) -> dict:
        with self.lock:
            account = self.account(account_id)
            clients = account.records["clients"]
            if id is None:
                new_id = self.new_id()
                record: dict[str, Any] = {
                    "id": new_id,
                    "userid": new_id,
                    "accounting_systemid": account.id,
                    "fname": "",
                    "lname": "",
                    "email": "",
                    "organization": "",
                    "bus_phone": "",
                    "p_province": "",
                    "p_country": "",
                    "currency_code": "USD",
                    "vis_state": 0,
                    "signup_date": stamp(self.now()),
                    "contacts": [],
                }
                verb = "create"
            elif id in clients:
                record, verb = clients[id], "update"
            else:
                raise not_found("client", id)
            for key in ("fname", "lname", "email", "organization", "bus_phone", "mob_phone"):
                if key in fields:
                    record[key] = str(fields[key] or "")
            for key in ("p_province", "p_country", "p_city", "p_code", "p_street", "currency_code"):
                if key in fields:
                    record[key] = str(fields[key] or "")
            if "contacts" in fields:
                record["contacts"] = [
                    {
                        "userid": int(c.get("userid") or self.new_id()),
                        "fname": str(c.get("fname") or ""),
                        "lname": str(c.get("lname") or ""),
                        "email": str(c.get("email") or ""),
                    }
                    for c in fields["contacts"] or []
                ]
            if "vis_state" in fields:
                record["vis_state"] = vis_state(fields["vis_state"])
                verb = "delete" if record["vis_state"] == 1 else verb
            if not (
                record["organization"] or record["fname"] or record["lname"] or record["email"]
            ):
                raise Invalid("A client needs an organization, a name or an email.", field="email")
            clients[record["id"]] = record
            self.touch(account, "clients", record, verb)
            return render("clients", record, frozenset({"contacts"}))

    # -- invoices -------------------------------------------------------------

    def save_invoice(self, account_id: str, fields: dict[str, Any], id: int | None = None) -> dict:
        with self.lock:
            account = self.account(account_id)
            invoices = account.records["invoices"]
            if id is None:
                client = account.records["clients"].get(int(fields.get("customerid") or 0))
                if client is None or client["vis_state"] == 1:
                    raise Invalid(
                        "The invoice names no client of this account.", field="customerid"
                    )
                new_id = self.new_id()
                account.numbers += 1
                code = str(fields.get("currency_code") or client.get("currency_code") or "USD")
                record: dict[str, Any] = {
                    "id": new_id,
                    "invoiceid": new_id,
                    "accountid": account.id,
                    "accounting_systemid": account.id,
                    "customerid": client["id"],
                    "invoice_number": str(fields.get("invoice_number") or f"{account.numbers:07d}"),
                    "create_date": str(fields.get("create_date") or self.now().date().isoformat()),
                    "currency_code": code,
                    "organization": client["organization"],
                    "fname": client["fname"],
                    "lname": client["lname"],
                    "notes": "",
                    "terms": "",
                    "vis_state": 0,
                    "status": 2,
                    "lines": [],
                    "created_at": stamp(self.now()),
                }
                verb = "create"
            elif id in invoices:
                record, verb = invoices[id], "update"
            else:
                raise not_found("invoice", id)
            for key in ("notes", "terms", "po_number", "invoice_number", "create_date"):
                if key in fields:
                    record[key] = str(fields[key] or "")
            if "due_offset_days" in fields:
                record["due_offset_days"] = int(fields["due_offset_days"])
            if "status" in fields:
                record["status"] = 1 if fields["status"] in (1, "draft") else 2
            if "lines" in fields:
                if self.paid(account, record["id"]) and id is not None:
                    raise Invalid("An invoice with payments keeps its lines.", field="lines")
                record["lines"] = [
                    line(n, item, record["currency_code"], stamp(self.now()))
                    for n, item in enumerate(fields["lines"] or [], start=1)
                ]
            if "vis_state" in fields:
                record["vis_state"] = vis_state(fields["vis_state"])
                verb = "delete" if record["vis_state"] == 1 else verb
            offset = int(record.get("due_offset_days") or 0)
            record["due_date"] = (
                dt.date.fromisoformat(record["create_date"]) + dt.timedelta(days=offset)
            ).isoformat()
            invoices[record["id"]] = record
            self.settle(account, record)
            self.touch(account, "invoices", record, verb)
            return render("invoices", record, frozenset({"lines"}))

    def paid(self, account: Account, invoice_id: int) -> Decimal:
        payments = account.records["payments"]
        return sum(
            (
                cents(payments[id]["amount"])
                for id in account.paid_by.get(invoice_id, ())
                if payments[id]["vis_state"] == 0
            ),
            ZERO,
        )

    def settle(self, account: Account, invoice: dict[str, Any]) -> None:
        """Work out the invoice's amount, paid, outstanding and statuses from its lines."""
        code = invoice["currency_code"]
        total = sum((cents(line["amount"]) for line in invoice["lines"]), ZERO)
        paid = min(self.paid(account, invoice["id"]), total)
        outstanding = total - paid
        invoice["amount"] = money(total, code)
        invoice["paid"] = money(paid, code)
        invoice["outstanding"] = money(outstanding, code)
        draft = invoice["status"] == 1
        if draft:
            state = "draft"
        elif total and not outstanding:
            state, invoice["status"] = "paid", 4
        elif paid:
            state, invoice["status"] = "partial", 8
        else:
            state, invoice["status"] = "sent", 2
        invoice["v3_status"] = state
        invoice["display_status"] = "draft" if draft else "sent"
        invoice["payment_status"] = (
            "paid" if total and not outstanding else "partial" if paid else "unpaid"
        )
        invoice["date_paid"] = self.now().date().isoformat() if state == "paid" else None
        if invoice["date_paid"] is None:
            invoice.pop("date_paid")

    # -- payments -------------------------------------------------------------

    def create_payment(self, account_id: str, fields: dict[str, Any]) -> dict:
        with self.lock:
            account = self.account(account_id)
            try:
                invoice_id = int(fields.get("invoiceid") or 0)
            except (TypeError, ValueError):
                raise Invalid("invoiceid is not an id.", field="invoiceid") from None
            invoice = account.records["invoices"].get(invoice_id)
            if invoice is None:
                raise Invalid("The payment names no invoice of this account.", field="invoiceid")
            if invoice["vis_state"] == 1 or invoice["status"] == 1:
                raise Invalid("A payment needs a live invoice that was sent.", field="invoiceid")
            amount = cents(fields.get("amount"))
            if amount <= 0:
                raise Invalid("A payment's amount is positive.", field="amount")
            kind = str(fields.get("type") or "Other")
            if kind not in PAYMENT_TYPES:
                raise Invalid(f"{kind} is not a payment type.", field="type")
            new_id = self.new_id()
            record: dict[str, Any] = {
                "id": new_id,
                "logid": new_id,
                "invoiceid": invoice_id,
                "clientid": invoice["customerid"],
                "amount": money(amount, invoice["currency_code"]),
                "date": str(fields.get("date") or self.now().date().isoformat())[:10],
                "type": kind,
                "note": str(fields.get("note") or ""),
                "vis_state": 0,
                "from_credit": bool(fields.get("creditid")),
            }
            if fields.get("creditid"):
                record["creditid"] = int(fields["creditid"])
            account.records["payments"][new_id] = record
            account.paid_by.setdefault(invoice_id, []).append(new_id)
            self.touch(account, "payments", record, "create")
            self.settle(account, invoice)
            self.touch(account, "invoices", invoice, "update")
            return render("payments", record)

    def update_payment(self, account_id: str, id: int, fields: dict[str, Any]) -> dict:
        with self.lock:
            account = self.account(account_id)
            record = account.records["payments"].get(id)
            if record is None:
                raise not_found("payment", id)
            verb = "update"
            if "note" in fields:
                record["note"] = str(fields["note"] or "")
            if "vis_state" in fields:
                record["vis_state"] = vis_state(fields["vis_state"])
                verb = "delete" if record["vis_state"] == 1 else verb
            self.touch(account, "payments", record, verb)
            invoice = account.records["invoices"][record["invoiceid"]]
            self.settle(account, invoice)
            self.touch(account, "invoices", invoice, "update")
            return render("payments", record)

    # -- webhook callbacks ----------------------------------------------------

    def create_callback(self, account_id: str, event: str, uri: str) -> dict:
        with self.lock:
            account = self.account(account_id)
            if not event or event.split(".")[0] not in ("client", "invoice", "payment"):
                raise Invalid(f"{event!r} is not an event the sandbox sends.", field="event")
            if not uri.startswith(("http://", "https://")):
                raise Invalid("The uri is not a URL.", field="uri")
            callback_id = self.new_id()
            account.callbacks[callback_id] = {
                "callbackid": callback_id,
                "id": callback_id,
                "event": event,
                "uri": uri,
                "verified": False,
                "updated_at": self.now().isoformat(),
            }
            account.verifiers[callback_id] = secrets.token_urlsafe(24)
            self.emit(account.id, "callback.verify", callback_id, account.verifiers[callback_id])
            return dict(account.callbacks[callback_id])

    def verify_callback(self, account_id: str, id: int, verifier: str) -> dict:
        with self.lock:
            account = self.account(account_id)
            callback = account.callbacks.get(id)
            if callback is None:
                raise not_found("callback", id)
            if not secrets.compare_digest(account.verifiers[id], str(verifier or "")):
                raise Invalid("The verifier is not this callback's.", field="verifier")
            callback["verified"] = True
            callback["updated_at"] = self.now().isoformat()
            return dict(callback)

    def delete_callback(self, account_id: str, id: int) -> None:
        with self.lock:
            account = self.account(account_id)
            if account.callbacks.pop(id, None) is None:
                raise not_found("callback", id)


def vis_state(value: Any) -> int:
    try:
        state = int(value)
    except (TypeError, ValueError):
        raise Invalid("vis_state is 0, 1 or 2.", field="vis_state") from None
    if state not in (0, 1, 2):
        raise Invalid("vis_state is 0, 1 or 2.", field="vis_state")
    return state


def line(n: int, item: dict[str, Any], code: str, updated: str) -> dict[str, Any]:
    qty = quantity(item.get("qty"))
    unit = cents(item.get("unit_cost"), "unit_cost")
    return {
        "lineid": n,
        "type": 0,
        "name": str(item.get("name") or ""),
        "description": str(item.get("description") or ""),
        "qty": qty,
        "unit_cost": money(unit, code),
        "amount": money((Decimal(str(qty)) * unit).quantize(CENT, ROUND_HALF_UP), code),
        "updated": updated,
    }


def render(resource: str, record: dict[str, Any], include: frozenset[str] = frozenset()) -> dict:
    """Return a record as served: what `include[]` did not ask for left out."""
    left_out = INCLUDED.get(resource)
    if left_out and left_out not in include:
        return {k: v for k, v in record.items() if k != left_out}
    return dict(record)
