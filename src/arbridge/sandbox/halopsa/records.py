"""The rules of each Halo table: what a POST may set, what Halo works out, what blocks a delete.

A tenant keeps its records as dicts in the wire shape (../shared/specs/
halopsa: Area for a client, Users, ContractHeader_List, InvoiceHeader with
InvoiceDetail lines, InvoicePayment_List). `PREPARE[table]` checks a record
about to be saved and fills in what Halo derives: a user's client name, an
agreement's type name, an invoice's totals and amount remaining.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from arbridge.sandbox.halopsa.wire import (
    CENT,
    bad_request,
    money,
    not_found,
    number,
    parse_time,
    timestamp,
)

ZERO = Decimal("0.00")

CLIENT, USER, CONTRACT, INVOICE, PAYMENT = (
    "Client",
    "Users",
    "ClientContract",
    "Invoice",
    "InvoicePayment",
)
TABLES = (CLIENT, USER, CONTRACT, INVOICE, PAYMENT)
# The field each table stamps on every write: what lastupdatefromdate filters on.
STAMPS = {
    CLIENT: "alastupdate",
    USER: "ulastupdate",
    CONTRACT: "last_modified",
    INVOICE: "last_modified",
}
# The field that keeps when a record was created, where the spec has one.
CREATED = {CLIENT: "datecreated", USER: "datecreated", INVOICE: "date_created"}
# The name webhook events give each table's records.
EVENT_NAMES = {CLIENT: "Client", USER: "User", CONTRACT: "Contract", INVOICE: "Invoice"}

# Fields a POST may set; everything else in a body is ignored, as Halo ignores it.
WRITABLE = {
    CLIENT: {
        "name", "inactive", "accountsemailaddress", "accountsccemailaddress",
        "accountsfirstname", "accountslastname", "main_phonenumber", "website",
        "main_invoice_address", "notes",
    },
    USER: {
        "name", "firstname", "surname", "emailaddress", "phonenumber", "client_id", "site_id",
        "inactive", "sendaccountsemails", "isimportantcontact", "ismaincontact",
        "canaccessinvoices",
    },
    CONTRACT: {
        "client_id", "ref", "contracttype", "contracttype_name", "subtype", "start_date",
        "end_date", "active", "billingdescription",
    },
    INVOICE: {
        "client_id", "invoicenumber", "thirdpartyinvoicenumber", "invoice_date", "duedate",
        "contract_id", "currency_code_name", "notes_1", "internal_note", "reference", "posted",
        "creditlinkedtoinvoiceid",
    },
    PAYMENT: {"invoice_id", "amount", "date", "method", "thirdpartyid", "intent_id"},
}  # fmt: skip
LINE_WRITABLE = {
    "item_code", "item_shortdescription", "item_longdescription", "nominal_code", "qty_order",
    "unit_price", "tax_rate", "tax_amount",
}  # fmt: skip
# A credit note is an invoice naming the invoice it credits here.
LINK = "creditlinkedtoinvoiceid"
DATE_FIELDS = {"invoice_date", "duedate", "start_date", "end_date", "date"}

# Contract (agreement) types a new instance starts with (Configuration > Billing > Contract Types).
CONTRACT_TYPES = {1: "Managed Services", 2: "Project", 3: "Break-Fix", 4: "Hardware"}


class Tenant:
    """One Halo instance: its API application, version, tables and webhooks."""

    def __init__(self, name: str, client_id: str, client_secret: str, version: str):
        self.name = name
        self.client_id = client_id
        self.client_secret = client_secret
        self.version = version
        self.tables: dict[str, dict[int, dict[str, Any]]] = {table: {} for table in TABLES}
        self.lines: dict[int, list[dict[str, Any]]] = {}
        # Per invoice: its payments and the credit notes crediting it, by id, so that
        # settling one invoice never reads every other (`put` and `remove` keep them).
        self.payments: dict[int, dict[int, dict[str, Any]]] = {}
        self.credit_notes: dict[int, dict[int, dict[str, Any]]] = {}
        self.last_ids: dict[str, int] = {table: 0 for table in (*TABLES, "InvoiceDetail")}
        self.contract_types = dict(CONTRACT_TYPES)
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.last_stamp = ""

    def next_id(self, table: str) -> int:
        self.last_ids[table] += 1
        return self.last_ids[table]

    def get(self, table: str, id: Any) -> dict[str, Any]:
        """Return a record by id; ApiError 404 if there is none."""
        try:
            record = self.tables[table].get(int(id))
        except (TypeError, ValueError):
            record = None
        if record is None:
            raise not_found(EVENT_NAMES.get(table, table), id)
        return record

    def put(self, table: str, record: dict[str, Any]) -> None:
        """Store a new or changed record, and keep the per-invoice indexes."""
        old = self.tables[table].get(record["id"])
        if old is not None:
            self._unindex(table, old)
        # A changed record keeps its place: lists are served in id order, as stored.
        self.tables[table][record["id"]] = record
        if table == PAYMENT:
            self.payments.setdefault(record["invoice_id"], {})[record["id"]] = record
        elif table == INVOICE and record.get(LINK):
            self.credit_notes.setdefault(record[LINK], {})[record["id"]] = record

    def remove(self, table: str, id: int) -> None:
        """Forget a record, in its table and in the indexes."""
        self._unindex(table, self.tables[table].pop(id))

    def _unindex(self, table: str, record: dict[str, Any]) -> None:
        if table == PAYMENT:
            self.payments.get(record["invoice_id"], {}).pop(record["id"], None)
        elif table == INVOICE and record.get(LINK):
            self.credit_notes.get(record[LINK], {}).pop(record["id"], None)

    def find(self, table: str, id: Any) -> dict[str, Any] | None:
        try:
            return self.tables[table].get(int(id)) if id else None
        except (TypeError, ValueError):
            return None


def date_field(key: str, value: Any) -> Any:
    """Return a date sent as "2025-03-01" as Halo stores it: "2025-03-01T00:00:00"."""
    if key in DATE_FIELDS and isinstance(value, str) and value:
        return parse_time(value, key).replace(tzinfo=None).isoformat(timespec="seconds")
    return value


def _flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise bad_request(f"{field} must be true or false")
    return value


def _client_id(tenant: Tenant, value: Any, field: str = "client_id") -> int | None:
    """Return the client a record names (None or 0: no client); 400 if it does not exist."""
    if value in (None, 0, "0", ""):
        return None
    if tenant.find(CLIENT, value) is None:
        raise bad_request(f"{field} {value} is not a client")
    return int(value)


# -- each table's rules -----------------------------------------------------


def _prepare_client(now: dt.datetime, tenant: Tenant, record: dict, body: dict) -> None:
    record["name"] = str(record.get("name") or "").strip()
    if not record["name"]:
        raise bad_request("name is required")
    for other in tenant.tables[CLIENT].values():
        if other["id"] != record["id"] and other["name"].casefold() == record["name"].casefold():
            raise bad_request(f"A client named {record['name']} already exists")
    record["inactive"] = _flag(record.get("inactive", False), "inactive")
    record.setdefault("accountsemailaddress", "")
    record.setdefault("toplevel_id", 1)
    record.setdefault("toplevel_name", "Clients")


def _prepare_user(now: dt.datetime, tenant: Tenant, record: dict, body: dict) -> None:
    client_id = _client_id(tenant, record.get("client_id"))
    if client_id is None:
        raise bad_request("client_id is required: a user belongs to a client's site")
    client = tenant.get(CLIENT, client_id)
    record["client_id"], record["client_name"] = client_id, client["name"]
    record.setdefault("site_id", client_id)
    record["site_name"] = "Main"
    if "name" not in body and ("firstname" in body or "surname" in body or not record.get("name")):
        full = f"{record.get('firstname', '')} {record.get('surname', '')}".strip()
        record["name"] = full or record.get("emailaddress", "")
    if not record.get("name"):
        raise bad_request("name is required")
    for key in ("inactive", "sendaccountsemails", "isimportantcontact", "ismaincontact"):
        record[key] = _flag(record.get(key, False), key)
    record.setdefault("emailaddress", "")
    record.setdefault("phonenumber", "")


def _prepare_contract(now: dt.datetime, tenant: Tenant, record: dict, body: dict) -> None:
    client_id = _client_id(tenant, record.get("client_id"))
    if client_id is None:
        raise bad_request("client_id is required")
    record["client_id"], record["client_name"] = client_id, tenant.get(CLIENT, client_id)["name"]
    record.setdefault("ref", f"AGR-{record['id']:05d}")
    if "contracttype" in body:
        kind = body["contracttype"]
        if kind not in tenant.contract_types:
            raise bad_request(f"contracttype {kind!r} is not a contract type")
        record["contracttype_name"] = tenant.contract_types[kind]
    elif "contracttype_name" in body:
        # The sandbox's shortcut: naming a type picks it, or adds it to the list.
        name = str(body["contracttype_name"])
        found = [k for k, v in tenant.contract_types.items() if v.casefold() == name.casefold()]
        kind = found[0] if found else max(tenant.contract_types, default=0) + 1
        tenant.contract_types.setdefault(kind, name)
        record["contracttype"], record["contracttype_name"] = kind, tenant.contract_types[kind]
    record.setdefault("contracttype", None)
    record.setdefault("contracttype_name", "")
    record.setdefault("subtype", None)
    record["active"] = _flag(record.get("active", True), "active")


def _prepare_invoice(now: dt.datetime, tenant: Tenant, record: dict, body: dict) -> None:
    client_id = _client_id(tenant, record.get("client_id"))
    client = tenant.find(CLIENT, client_id)
    record["client_id"] = client_id
    record["client_name"] = client["name"] if client else ""
    contract = tenant.find(CONTRACT, record.get("contract_id"))
    if record.get("contract_id") and contract is None:
        raise bad_request(f"contract_id {record['contract_id']} is not an agreement")
    if contract is not None and client_id is not None and contract["client_id"] != client_id:
        raise bad_request("the agreement belongs to another client")
    record["contract_id"] = contract["id"] if contract else None
    record["contract_ref"] = contract["ref"] if contract else ""
    linked = record.get(LINK)
    if linked:
        target = tenant.find(INVOICE, linked)
        if target is None or target.get(LINK):
            raise bad_request(f"creditlinkedtoinvoiceid {linked} is not an invoice")
        if target["id"] == record["id"]:
            raise bad_request("a credit note cannot credit itself")
    record.setdefault("invoicenumber", str(record["id"]))
    record.setdefault("invoice_date", timestamp(now)[:10] + "T00:00:00")
    record.setdefault("duedate", record["invoice_date"])
    record.setdefault("currency_code_name", "USD")
    record.setdefault("posted", False)
    record.setdefault("voided", False)
    record.setdefault("notes_1", "")
    if "lines" in body:
        tenant.lines[record["id"]] = _lines(tenant, record["id"], body["lines"])
    tenant.lines.setdefault(record["id"], [])
    settle_invoice(tenant, record)


def _lines(tenant: Tenant, invoice_id: int, lines: Any) -> list[dict[str, Any]]:
    if not isinstance(lines, list):
        raise bad_request("lines must be a list")
    result = []
    for position, line in enumerate(lines):
        if not isinstance(line, dict):
            raise bad_request("each line must be an object")
        row = {k: v for k, v in line.items() if k in LINE_WRITABLE}
        quantity = number(row.get("qty_order", 1), f"lines[{position}].qty_order")
        price = number(row.get("unit_price", 0), f"lines[{position}].unit_price")
        net = (quantity * price).quantize(CENT)
        if "tax_amount" in row:
            tax = money(row["tax_amount"], f"lines[{position}].tax_amount")
        else:
            rate = number(row.get("tax_rate", 0), f"lines[{position}].tax_rate")
            tax = (net * rate / 100).quantize(CENT)
        row.update(
            id=tenant.next_id("InvoiceDetail"),
            ihid=invoice_id,
            qty_order=quantity,
            unit_price=price,
            net_amount=net,
            tax_amount=tax,
            sequenceid=position + 1,
        )
        row.setdefault("item_shortdescription", "")
        result.append(row)
    return result


def payments_of(tenant: Tenant, invoice_id: int) -> list[dict[str, Any]]:
    return list(tenant.payments.get(invoice_id, {}).values())


def settle_invoice(tenant: Tenant, invoice: dict) -> None:
    """Set an invoice's totals, what was paid and credited, and what remains."""
    lines = tenant.lines.get(invoice["id"], [])
    net = sum((line["net_amount"] for line in lines), ZERO)
    tax = sum((line["tax_amount"] for line in lines), ZERO)
    invoice["tax_total"], invoice["total"] = tax, net + tax
    paid = sum((p["amount"] for p in payments_of(tenant, invoice["id"])), ZERO)
    credits = tenant.credit_notes.get(invoice["id"], {}).values()
    credited = sum((c["total"] for c in credits), ZERO)
    invoice["amountpaid"], invoice["credit_used"] = paid, credited
    remaining = ZERO if invoice.get("voided") else max(invoice["total"] - paid - credited, ZERO)
    invoice["amount_remaining"] = invoice["amountdue"] = remaining
    # 0 unpaid, 1 partly paid, 2 paid.
    invoice["paymentstatus"] = 2 if remaining == 0 else 1 if remaining < invoice["total"] else 0


def _prepare_payment(now: dt.datetime, tenant: Tenant, record: dict, body: dict) -> None:
    invoice = tenant.find(INVOICE, record.get("invoice_id"))
    if invoice is None or invoice.get(LINK):
        raise bad_request(f"invoice_id {record.get('invoice_id')!r} is not an invoice")
    if invoice.get("voided"):
        raise bad_request(f"Invoice {invoice['id']} is void")
    amount = money(record.get("amount"), "amount")
    if amount <= 0:
        raise bad_request("amount must be more than zero")
    already = sum(
        (p["amount"] for p in payments_of(tenant, invoice["id"]) if p["id"] != record["id"]),
        ZERO,
    )
    owed = invoice["total"] - invoice["credit_used"] - already
    if amount > owed:
        raise bad_request(f"The payment of {amount} is more than the {owed} outstanding")
    client = tenant.find(CLIENT, invoice["client_id"])
    record.update(
        invoice_id=invoice["id"],
        amount=amount,
        client_id=invoice["client_id"],
        client_name=client["name"] if client else "",
        invoice_invoicenumber=invoice["invoicenumber"],
        status=0,
    )
    record.setdefault("date", timestamp(now)[:10] + "T00:00:00")
    record.setdefault("method", 0)
    record.setdefault("thirdpartyid", "")


PREPARE: dict[str, Callable[[dt.datetime, Tenant, dict, dict], None]] = {
    CLIENT: _prepare_client,
    USER: _prepare_user,
    CONTRACT: _prepare_contract,
    INVOICE: _prepare_invoice,
    PAYMENT: _prepare_payment,
}


def _check_client_delete(tenant: Tenant, client: dict) -> None:
    if any(i["client_id"] == client["id"] for i in tenant.tables[INVOICE].values()):
        raise bad_request(f"Client {client['id']} has invoices and cannot be deleted")
    if any(c["client_id"] == client["id"] for c in tenant.tables[CONTRACT].values()):
        raise bad_request(f"Client {client['id']} has agreements and cannot be deleted")


def _check_invoice_delete(tenant: Tenant, invoice: dict) -> None:
    if payments_of(tenant, invoice["id"]):
        raise bad_request(f"Invoice {invoice['id']} has payments; remove them first")
    if tenant.credit_notes.get(invoice["id"]):
        raise bad_request(f"Invoice {invoice['id']} has credit notes; remove them first")


def _check_contract_delete(tenant: Tenant, contract: dict) -> None:
    if any(i.get("contract_id") == contract["id"] for i in tenant.tables[INVOICE].values()):
        raise bad_request(f"Agreement {contract['id']} has invoices and cannot be deleted")


def _nothing(tenant: Tenant, record: dict) -> None:
    return None


CHECK_DELETE: dict[str, Callable[[Tenant, dict], None]] = {
    CLIENT: _check_client_delete,
    USER: _nothing,
    CONTRACT: _check_contract_delete,
    INVOICE: _check_invoice_delete,
    PAYMENT: _nothing,
}
