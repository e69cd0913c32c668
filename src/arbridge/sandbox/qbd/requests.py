"""The sandbox company's qbXML request processor: what QuickBooks answers a request with.

# Reference: https://developer.intuit.com/app/developer/qbdesktop/docs/api-reference/qbdesktop
# Reference: ../shared/specs/qbd/qbxmlops70.xml

One `...Rq` per message, as arbridge sends them. Queries take ids,
RefNumbers, ModifiedDateRangeFilter (FromModifiedDate for customers),
TxnDateRangeFilter and AccountFilter (deposits), MaxReturned with an
iterator (Start, then Continue by iteratorID; an iterator lives until its
session ends). A query that matches nothing answers statusCode 1. Adds
check what QuickBooks checks (references exist, no overpayment), and a
status queued with `Company.fail_next` answers the next request of its name.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from lxml import etree

from arbridge.sandbox.qbd.company import ZERO, Company, Refused

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
NO_MATCH = "A query request did not find a matching object in QuickBooks"
TABLES = {
    "Customer": "customers",
    "Invoice": "invoices",
    "CreditMemo": "credit_memos",
    "ReceivePayment": "payments",
    "Deposit": "deposits",
}


class Processor:
    """Answers qbXML for one company; iterators belong to the session that opened them."""

    def __init__(self, company: Company) -> None:
        self.company = company
        self.iterators: dict[str, list[str]] = {}
        self.requests = 0

    def end_session(self) -> None:
        self.iterators.clear()

    def process(self, document: str) -> str:
        self.requests += 1
        try:
            root = etree.fromstring(document.encode(), _PARSER)
            request = root.find("QBXMLMsgsRq")[0]
        except (etree.XMLSyntaxError, TypeError, IndexError):
            return respond(etree.Element("QBXMLMsgsRs"), status=(-1, "Malformed qbXML"))
        name = request.tag
        out = etree.Element(name[:-2] + "Rs")
        with self.company.lock:
            queued = self.company.failing.get(name)
            if queued:
                return respond(out, status=queued.pop(0))
            try:
                self.answer(request, out)
            except Refused as e:
                return respond(out, status=(e.code, e.message))
        if name.endswith("QueryRq") and len(out) == 0:
            return respond(out, status=(1, NO_MATCH))
        return respond(out)

    def answer(self, request: etree._Element, out: etree._Element) -> None:
        name = request.tag
        if name == "TxnDeletedQueryRq":
            return self.deleted(request, out, "Txn")
        if name == "ListDeletedQueryRq":
            return self.deleted(request, out, "List")
        if name == "ReceivePaymentAddRq":
            return self.receive_payment(request.find("ReceivePaymentAdd"), out)
        if name == "DepositAddRq":
            return self.deposit(request.find("DepositAdd"), out)
        if name == "TxnDelRq":
            kind, txn_id = request.findtext("TxnDelType"), request.findtext("TxnID")
            self.company.delete_txn(kind, txn_id)
            out.append(el("TxnDelType", kind))
            out.append(el("TxnID", txn_id))
            out.append(el("TimeDeleted", self.company.clock().replace(microsecond=0).isoformat()))
            return None
        if name.endswith("QueryRq") and name[:-7] in TABLES:
            return self.query(name[:-7], request, out)
        raise Refused(3, f"The sandbox does not know {name}")

    # -- queries ----------------------------------------------------------------

    def query(self, entity: str, request: etree._Element, out: etree._Element) -> None:
        table: dict[str, dict[str, Any]] = getattr(self.company, TABLES[entity])
        iterator = request.get("iterator")
        if iterator == "Continue":
            iterator_id = request.get("iteratorID", "")
            if iterator_id not in self.iterators:
                raise Refused(
                    3120, f'Object "{iterator_id}" specified in the request cannot be found.'
                )
            ids = self.iterators.pop(iterator_id)
        else:
            ids = [key for key, record in table.items() if matches(entity, record, request)]
            iterator_id = str(uuid.uuid4())
        limit = int(request.findtext("MaxReturned") or 0)
        if limit:
            page, rest = ids[:limit], ids[limit:]
        else:
            page, rest = ids, []
        lines = request.findtext("IncludeLineItems") == "true"
        for key in page:
            if key in table:
                out.append(render(self.company, entity, table[key], lines=lines))
        if iterator in ("Start", "Continue"):
            out.set("iteratorID", iterator_id)
            out.set("iteratorRemainingCount", str(len(rest)))
            if rest:
                self.iterators[iterator_id] = rest

    def deleted(self, request: etree._Element, out: etree._Element, kind: str) -> None:
        types = {t.text for t in request.iterfind(f"{kind}DelType")}
        since = request.findtext("DeletedDateRangeFilter/FromDeletedDate")
        start = dt.datetime.fromisoformat(since) if since else None
        for what, key, at in self.company.deleted:
            if what in types and (start is None or at >= start):
                row = etree.SubElement(out, f"{kind}DeletedRet")
                row.append(el(f"{kind}DelType", what))
                row.append(el("TxnID" if kind == "Txn" else "ListID", key))
                row.append(el("TimeDeleted", at.replace(microsecond=0).isoformat()))

    # -- adds -------------------------------------------------------------------

    def receive_payment(self, add: etree._Element, out: etree._Element) -> None:
        applied = [
            (a.findtext("TxnID"), Decimal(a.findtext("PaymentAmount") or "0"))
            for a in add.iterfind("AppliedToTxnAdd")
        ]
        total = add.findtext("TotalAmount")
        txn_id = self.company.receive_payment(
            add.findtext("CustomerRef/ListID") or "",
            applied,
            ref_number=add.findtext("RefNumber") or "",
            memo=add.findtext("Memo") or "",
            date=dt.date.fromisoformat(add.findtext("TxnDate"))
            if add.findtext("TxnDate")
            else None,
            total=Decimal(total) if total else None,
            deposit_to=add.findtext("DepositToAccountRef/FullName") or "Undeposited Funds",
            method=add.findtext("PaymentMethodRef/FullName") or "",
        )
        out.append(render(self.company, "ReceivePayment", self.company.payments[txn_id]))

    def deposit(self, add: etree._Element, out: etree._Element) -> None:
        payments, others = [], []
        for line in add.iterfind("DepositLineAdd"):
            if line.findtext("PaymentTxnID"):
                payments.append(line.findtext("PaymentTxnID"))
            else:
                others.append(
                    (
                        line.findtext("AccountRef/FullName") or "",
                        Decimal(line.findtext("Amount") or "0"),
                        line.findtext("Memo") or "",
                    )
                )
        txn_id = self.company.add_deposit(
            add.findtext("DepositToAccountRef/FullName") or "",
            dt.date.fromisoformat(add.findtext("TxnDate")),
            add.findtext("Memo") or "",
            payments,
            others,
        )
        out.append(render(self.company, "Deposit", self.company.deposits[txn_id]))


def matches(entity: str, record: dict[str, Any], request: etree._Element) -> bool:
    """Return True if a record meets a query's filters."""
    ids = [n.text for n in request.iterfind("ListID" if entity == "Customer" else "TxnID")]
    if ids:
        return record.get("ListID", record.get("TxnID")) in ids
    numbers = [n.text for n in request.iterfind("RefNumber")]
    if numbers:
        return record.get("RefNumber") in numbers
    if entity == "Customer":
        since = request.findtext("FromModifiedDate")
        status = request.findtext("ActiveStatus") or "ActiveOnly"
        if status == "ActiveOnly" and not record["IsActive"]:
            return False
    else:
        since = request.findtext("ModifiedDateRangeFilter/FromModifiedDate")
    if since and record["TimeModified"] < dt.datetime.fromisoformat(since):
        return False
    day_from = request.findtext("TxnDateRangeFilter/FromTxnDate")
    day_to = request.findtext("TxnDateRangeFilter/ToTxnDate")
    if day_from and record["TxnDate"] < dt.date.fromisoformat(day_from):
        return False
    if day_to and record["TxnDate"] > dt.date.fromisoformat(day_to):
        return False
    account = request.findtext("AccountFilter/FullName")
    return not (account and record.get("Bank") != account)


# -- rendering ------------------------------------------------------------------


def el(tag: str, value: Any) -> etree._Element:
    node = etree.Element(tag)
    if isinstance(value, bool):
        node.text = "true" if value else "false"
    elif isinstance(value, Decimal):
        node.text = f"{value.quantize(Decimal('0.01')):f}"
    elif isinstance(value, dt.datetime):
        node.text = value.isoformat()
    else:
        node.text = str(value)
    return node


def ref(tag: str, list_id: str, name: str) -> etree._Element:
    node = etree.Element(tag)
    node.append(el("ListID", list_id))
    node.append(el("FullName", name))
    return node


def render(
    company: Company, entity: str, r: dict[str, Any], *, lines: bool = False
) -> etree._Element:
    row = etree.Element(f"{entity}Ret")
    key = "ListID" if entity == "Customer" else "TxnID"
    for tag in (key, "TimeModified", "EditSequence"):
        row.append(el(tag, r[tag]))
    if entity == "Customer":
        for tag in ("Name", "FullName", "IsActive"):
            row.append(el(tag, r["Name"] if tag == "FullName" else r[tag]))
        if r.get("Email"):
            row.append(el("Email", r["Email"]))
        if r.get("Contact"):
            row.append(el("Contact", r["Contact"]))
        return row
    if entity == "Deposit":
        row.append(el("TxnDate", r["TxnDate"]))
        row.append(ref("DepositToAccountRef", r["Bank"], r["Bank"]))
        row.append(el("Memo", r["Memo"]))
        row.append(el("DepositTotal", r["Total"]))
        return row
    customer = company.customers.get(r["Customer"], {"Name": ""})
    row.append(ref("CustomerRef", r["Customer"], customer["Name"]))
    row.append(el("TxnDate", r["TxnDate"]))
    row.append(el("RefNumber", r["RefNumber"]))
    if entity == "Invoice":
        subtotal = company.subtotal(r)
        row.append(el("DueDate", r["DueDate"]))
        row.append(el("Subtotal", subtotal))
        row.append(el("SalesTaxTotal", ZERO))
        row.append(el("AppliedAmount", -company.applied(r["TxnID"])))
        row.append(el("BalanceRemaining", company.balance(r["TxnID"])))
        row.append(el("Memo", r["Memo"]))
        row.append(el("IsPaid", company.balance(r["TxnID"]) == 0))
        if lines:
            for n, (desc, amount) in enumerate(r["Lines"], 1):
                line = etree.SubElement(row, "InvoiceLineRet")
                line.append(el("TxnLineID", f"{r['TxnID']}-{n}"))
                line.append(el("Desc", desc))
                line.append(el("Quantity", 1))
                line.append(el("Rate", amount))
                line.append(el("Amount", amount))
    elif entity == "CreditMemo":
        row.append(el("TotalAmount", r["Amount"]))
        for invoice, amount in r["Links"]:
            link = etree.SubElement(row, "LinkedTxn")
            link.append(el("TxnID", invoice))
            link.append(el("TxnType", "Invoice"))
            link.append(el("TxnDate", r["TxnDate"]))
            link.append(el("Amount", -amount))
    elif entity == "ReceivePayment":
        row.append(el("TotalAmount", r["TotalAmount"]))
        if r["Method"]:
            row.append(ref("PaymentMethodRef", r["Method"], r["Method"]))
        row.append(el("Memo", r["Memo"]))
        row.append(ref("DepositToAccountRef", r["DepositTo"], r["DepositTo"]))
        for invoice, amount in r["Applied"]:
            applied = etree.SubElement(row, "AppliedToTxnRet")
            applied.append(el("TxnID", invoice))
            applied.append(el("TxnType", "Invoice"))
            applied.append(el("Amount", amount))
    return row


def respond(out: etree._Element, status: tuple[int, str] = (0, "Status OK")) -> str:
    code, message = status
    out.set("statusCode", str(code))
    out.set("statusSeverity", "Info" if code in (0, 1) else "Error")
    out.set("statusMessage", message)
    root = etree.Element("QBXML")
    etree.SubElement(root, "QBXMLMsgsRs").append(out)
    body = etree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" ?>\n{body}'
