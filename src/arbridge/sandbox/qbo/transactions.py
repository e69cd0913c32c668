"""Transactions: Invoice, CreditMemo, Payment and Deposit, and how money moves between them.

- An invoice's Balance is its TotalAmt less what payments apply to it; a
  credit memo's Balance (RemainingCredit) is its TotalAmt less what payments
  apply of it. A Payment applies money with lines carrying a LinkedTxn to an
  Invoice or a CreditMemo; TotalAmt = invoice lines - credit memo lines +
  UnappliedAmt.
- A Payment is received into Undeposited Funds unless it names another
  account. A Deposit moves payments out of Undeposited Funds with LinkedTxn
  lines (each for the payment's whole amount) and books anything else, such as
  a processor's fee as a negative line, with DepositLineDetail lines.
- Customers' Balance and balance-sheet accounts' CurrentBalance are the sums
  of what transactions post to them (`postings`), kept by the store.
Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/payment
Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/deposit
"""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arbridge.sandbox.qbo.entities import (
    USD,
    ZERO,
    Entity,
    Links,
    Postings,
    date,
    line_list,
    memo,
    ref,
    text,
)
from arbridge.sandbox.qbo.wire import (
    CENT,
    Fault,
    business,
    decimal,
    invalid,
    invalid_reference,
    money,
    required,
    unsupported,
)

if TYPE_CHECKING:
    from arbridge.sandbox.qbo.store import Realm, Record

SALES_LINE_KEYS = {"Id", "LineNum", "Description", "Amount", "DetailType", "LinkedTxn"}
SALES_DETAIL_KEYS = {
    "ItemRef", "ItemAccountRef", "ClassRef", "UnitPrice", "Qty", "TaxCodeRef", "ServiceDate",
}  # fmt: skip
VOIDED = "Voided"


def _txn_date(realm: Realm, doc: dict, now: float) -> str:
    return date(doc, "TxnDate") or realm.today(now).isoformat()


def _customer_id(record: Record) -> int:
    return int(record.fields["CustomerRef"])


def _sales_lines(realm: Realm, doc: dict) -> tuple[list[dict[str, Any]], Decimal]:
    """Check invoice or credit memo lines; return them numbered, with a subtotal line."""
    lines: list[dict[str, Any]] = []
    total = ZERO
    for line in line_list(doc, needed=True):
        kind = line.get("DetailType")
        if kind == "SubTotalLineDetail":
            continue  # QuickBooks recomputes the subtotal.
        number = len(lines) + 1
        out: dict[str, Any] = {"Id": str(number), "LineNum": number}
        if text(line, "Description"):
            out["Description"] = line["Description"]
        if kind == "DescriptionOnly":
            out.update(DetailType=kind, DescriptionLineDetail=line.get("DescriptionLineDetail", {}))
        elif kind == "SalesItemLineDetail":
            for key in line:
                if key not in SALES_LINE_KEYS and key != kind:
                    raise unsupported(f"Line.{key}")
            out["Amount"] = amount = _sales_amount(realm, line, out)
            total += amount
        else:
            raise invalid("Line.DetailType", kind)
        lines.append(out)
    lines.append({"Amount": total, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
    return lines, total


def _sales_amount(realm: Realm, line: dict, out: dict[str, Any]) -> Decimal:
    """Check a sales item line's detail into `out`; return its amount."""
    detail = dict(line.get("SalesItemLineDetail") or {})
    for key in detail:
        if key not in SALES_DETAIL_KEYS:
            raise unsupported(f"SalesItemLineDetail.{key}")
    if "ItemRef" not in detail and realm.services_item is not None:
        detail["ItemRef"] = {"value": str(realm.services_item)}  # QuickBooks' default item
    detail["ItemRef"] = ref(realm, detail, "ItemRef", "Item", needed=True)
    if "ItemAccountRef" in detail:  # this line's income account, other than the item's
        detail["ItemAccountRef"] = ref(realm, detail, "ItemAccountRef", "Account")
    quantity = decimal(detail["Qty"], "Qty") if "Qty" in detail else None
    price = decimal(detail["UnitPrice"], "UnitPrice") if "UnitPrice" in detail else None
    extended = None
    if quantity is not None and price is not None:
        extended = (quantity * price).quantize(CENT)
    if "Amount" in line:
        amount = money(line["Amount"], "Line.Amount")
        if extended is not None and extended != amount:
            raise Fault("6070", "Amount is not equal to UnitPrice * Qty", f"Supplied {amount}")
    elif extended is not None:
        amount = extended
    else:
        raise required("Line.Amount")
    if "ServiceDate" in detail:
        detail["ServiceDate"] = date(detail, "ServiceDate")
    out.update(DetailType="SalesItemLineDetail", SalesItemLineDetail=detail)
    return amount


def _sales_form(realm: Realm, doc: dict, id: int | None, now: float) -> dict:
    """Check what invoices and credit memos share: customer, lines, number, date, memos."""
    customer = ref(realm, doc, "CustomerRef", "Customer", needed=True)
    doc["CustomerRef"] = customer
    doc["Line"], doc["TotalAmt"] = _sales_lines(realm, doc)
    doc["TxnDate"] = _txn_date(realm, doc, now)
    number = text(doc, "DocNumber", limit=21)
    if number is None and id is not None:
        number = realm.document(id).get("DocNumber")
    doc["DocNumber"] = number or realm.next_doc_number()
    realm.saw_doc_number(doc["DocNumber"])
    if id is not None and doc["TotalAmt"] < realm.applied(id):
        raise business(f"Payments apply {realm.applied(id)}, more than the new total")
    text(doc, "PrivateNote")
    if "CustomerMemo" in doc:
        doc["CustomerMemo"] = memo(doc, "CustomerMemo")
    owner = realm.get("Customer", customer["value"]).fields
    if "BillAddr" not in doc and owner["BillAddr"]:
        doc["BillAddr"] = owner["BillAddr"]
    if "BillEmail" not in doc and owner["PrimaryEmailAddr"]:
        doc["BillEmail"] = {"Address": owner["PrimaryEmailAddr"]}
    return doc


def _sales_index(doc: dict) -> dict[str, Any]:
    # Dates and customer ids repeat across thousands of invoices; share the strings.
    return {
        "DocNumber": doc["DocNumber"],
        "TxnDate": sys.intern(doc["TxnDate"]),
        "DueDate": sys.intern(doc["DueDate"]) if doc.get("DueDate") else None,
        "CustomerRef": sys.intern(doc["CustomerRef"]["value"]),
        "TotalAmt": doc["TotalAmt"],
        "Balance": doc["TotalAmt"],
    }


def _applied(realm: Realm, record: Record) -> list[dict[str, str]]:
    return [
        {"TxnId": str(source), "TxnType": "Payment"}
        for source in sorted(realm.linked_to(record.id))
    ]


def _void_sales(doc: dict) -> dict:
    """Zero a sales form's amounts and mark its note, as QuickBooks voids it."""
    for line in doc["Line"]:
        if "Amount" in line:
            line["Amount"] = ZERO
    doc["TotalAmt"] = ZERO
    note = doc.get("PrivateNote")
    doc["PrivateNote"] = f"{VOIDED} - {note}" if note else VOIDED
    return doc


SALES_WRITABLE = frozenset(
    {
        "DocNumber",
        "TxnDate",
        "PrivateNote",
        "Line",
        "CustomerRef",
        "CustomerMemo",
        "BillAddr",
        "ShipAddr",
        "BillEmail",
        "SalesTermRef",
        "DueDate",
        "CurrencyRef",
        "EmailStatus",
        "PrintStatus",
        "ApplyTaxAfterDiscount",
        "TxnTaxDetail",
        "AllowOnlineCreditCardPayment",
        "AllowOnlineACHPayment",
        "ClassRef",
        "DepartmentRef",
    }
)
SALES_DEFAULTS = {
    "CurrencyRef": USD,
    "EmailStatus": "NotSet",
    "PrintStatus": "NotSet",
    "ApplyTaxAfterDiscount": False,
    "TxnTaxDetail": {"TotalTax": ZERO},
}
SALES_QUERYABLE = {
    "DocNumber": "string",
    "TxnDate": "date",
    "CustomerRef": "ref",
    "TotalAmt": "decimal",
    "Balance": "decimal",
}

# -- Invoice ------------------------------------------------------------------


def prepare_invoice(realm: Realm, doc: dict, id: int | None, now: float) -> dict:
    """Check an invoice; its due date follows its terms (or its customer's)."""
    _sales_form(realm, doc, id, now)
    if "SalesTermRef" not in doc:
        customer = realm.get("Customer", doc["CustomerRef"]["value"])
        if customer and customer.fields["SalesTermRef"]:
            doc["SalesTermRef"] = {"value": customer.fields["SalesTermRef"]}
    if "SalesTermRef" in doc:
        doc["SalesTermRef"] = ref(realm, doc, "SalesTermRef", "Term")
    due = date(doc, "DueDate")
    if due is None:
        days = 0
        if "SalesTermRef" in doc:
            days = realm.get("Term", doc["SalesTermRef"]["value"]).fields["DueDays"] or 0
        due = (dt.date.fromisoformat(doc["TxnDate"]) + dt.timedelta(days=days)).isoformat()
    doc["DueDate"] = due
    return doc


INVOICE = Entity(
    name="Invoice",
    writable=SALES_WRITABLE,
    computed=frozenset({"TotalAmt", "Balance", "LinkedTxn", "Deposit", "HomeBalance"}),
    queryable={**SALES_QUERYABLE, "DueDate": "date"},
    prepare=prepare_invoice,
    index=_sales_index,
    postings=lambda realm, record: ((_customer_id(record), record.fields["Balance"]),),
    derived=lambda realm, record: {
        "Balance": record.fields["Balance"],
        "Deposit": ZERO,
        **({"LinkedTxn": applied} if (applied := _applied(realm, record)) else {}),
    },
    open_balance=True,
    void=_void_sales,
    deletable=True,
    defaults={
        **SALES_DEFAULTS,
        "AllowOnlineCreditCardPayment": False,
        "AllowOnlineACHPayment": False,
    },
)

# -- CreditMemo ---------------------------------------------------------------

CREDIT_MEMO = Entity(
    name="CreditMemo",
    writable=SALES_WRITABLE - {"SalesTermRef", "DueDate"},
    computed=frozenset({"TotalAmt", "Balance", "RemainingCredit", "LinkedTxn"}),
    queryable=SALES_QUERYABLE,
    prepare=lambda realm, doc, id, now: _sales_form(realm, doc, id, now),
    index=_sales_index,
    postings=lambda realm, record: ((_customer_id(record), -record.fields["Balance"]),),
    derived=lambda realm, record: {
        "Balance": record.fields["Balance"],
        "RemainingCredit": record.fields["Balance"],
    },
    open_balance=True,
    deletable=True,
    defaults=SALES_DEFAULTS,
)

# -- Payment ------------------------------------------------------------------


def _linked(line: dict, types: tuple[str, ...]) -> tuple[str, str]:
    """Return the (TxnType, TxnId) a payment or deposit line points at."""
    linked = line.get("LinkedTxn")
    if not isinstance(linked, list) or len(linked) != 1 or not isinstance(linked[0], dict):
        raise invalid("Line.LinkedTxn", linked)
    kind, id = linked[0].get("TxnType"), linked[0].get("TxnId")
    if kind not in types:
        raise invalid("Line.LinkedTxn.TxnType", kind)
    if not isinstance(id, str | int):
        raise invalid("Line.LinkedTxn.TxnId", id)
    return kind, str(id)


def prepare_payment(realm: Realm, doc: dict, id: int | None, now: float) -> dict:
    """Check a payment and what it applies; nothing may be applied past an open balance."""
    customer = ref(realm, doc, "CustomerRef", "Customer", needed=True)
    doc["CustomerRef"] = customer
    if "TotalAmt" not in doc:
        raise required("TotalAmt")
    total = doc["TotalAmt"] = money(doc["TotalAmt"], "TotalAmt")
    if total < 0:
        raise invalid("TotalAmt", total)
    doc["TxnDate"] = _txn_date(realm, doc, now)
    if "DepositToAccountRef" not in doc and realm.undeposited_funds is not None:
        doc["DepositToAccountRef"] = {"value": str(realm.undeposited_funds)}
    doc["DepositToAccountRef"] = ref(realm, doc, "DepositToAccountRef", "Account", needed=True)
    text(doc, "PaymentRefNum", limit=21)
    text(doc, "PrivateNote")
    if id is not None and realm.linked_to(id):
        before = realm.get("Payment", id).fields
        if (total, doc["DepositToAccountRef"]["value"]) != (
            before["TotalAmt"],
            before["DepositToAccountRef"],
        ):
            raise business(f"Payment {id} is deposited; its amount and account cannot change")

    lines, unapplied = [], total
    for line in line_list(doc, needed=False):
        kind, target_id = _linked(line, ("Invoice", "CreditMemo"))
        target = realm.get(kind, target_id)
        if target is None:
            raise invalid_reference(kind, target_id, "Line.LinkedTxn.TxnId")
        if target.fields["CustomerRef"] != customer["value"]:
            raise business(f"{kind} {target_id} belongs to another customer")
        amount = money(line.get("Amount"), "Line.Amount")
        available = target.fields["TotalAmt"] - realm.applied(target.id, excluding=id)
        if amount < 0 or amount > available:
            raise business(f"{amount} is more than the {available} open on {kind} {target_id}")
        unapplied += -amount if kind == "Invoice" else amount
        lines.append({"Amount": amount, "LinkedTxn": [{"TxnId": target_id, "TxnType": kind}]})
    if unapplied < 0:
        raise business(f"The lines apply {total - unapplied}, more than the payment's {total}")
    doc["Line"] = lines
    doc["UnappliedAmt"] = unapplied
    doc["ProcessPayment"] = False
    return doc


def _line_links(doc: dict) -> Links:
    links: Links = {}
    for line in doc.get("Line", ()):
        if "LinkedTxn" in line:
            target = int(line["LinkedTxn"][0]["TxnId"])
            links[target] = links.get(target, ZERO) + line["Amount"]
    return links


def _void_payment(doc: dict) -> dict:
    doc.update(Line=[], TotalAmt=ZERO, UnappliedAmt=ZERO)
    note = doc.get("PrivateNote")
    doc["PrivateNote"] = f"{VOIDED} - {note}" if note else VOIDED
    return doc


def _payment_postings(realm: Realm, record: Record) -> Postings:
    return (
        (_customer_id(record), -record.fields["UnappliedAmt"]),
        (int(record.fields["DepositToAccountRef"]), record.fields["TotalAmt"]),
    )


PAYMENT = Entity(
    name="Payment",
    writable=frozenset(
        {
            "TxnDate",
            "PrivateNote",
            "Line",
            "CustomerRef",
            "DepositToAccountRef",
            "PaymentMethodRef",
            "PaymentRefNum",
            "TotalAmt",
            "CurrencyRef",
            "ARAccountRef",
        }
    ),
    computed=frozenset({"UnappliedAmt", "ProcessPayment", "LinkedTxn"}),
    queryable={
        "TxnDate": "date",
        "CustomerRef": "ref",
        "TotalAmt": "decimal",
        "PaymentRefNum": "string",
    },
    prepare=prepare_payment,
    index=lambda doc: {
        "TxnDate": sys.intern(doc["TxnDate"]),
        "CustomerRef": sys.intern(doc["CustomerRef"]["value"]),
        "TotalAmt": doc["TotalAmt"],
        "UnappliedAmt": doc["UnappliedAmt"],
        "PaymentRefNum": doc.get("PaymentRefNum"),
        "DepositToAccountRef": doc["DepositToAccountRef"]["value"],
    },
    links=_line_links,
    postings=_payment_postings,
    void=_void_payment,
    deletable=True,
    defaults={"CurrencyRef": USD},
)

# -- Deposit ------------------------------------------------------------------


def prepare_deposit(realm: Realm, doc: dict, id: int | None, now: float) -> dict:
    """Check a deposit: whole payments out of Undeposited Funds, other lines to accounts."""
    account = ref(realm, doc, "DepositToAccountRef", "Account", needed=True)
    bank = realm.get("Account", account["value"])
    if bank.fields["AccountType"] not in ("Bank", "Other Current Asset") or (
        bank.id == realm.undeposited_funds
    ):
        raise business(f"Account {bank.fields['Name']} cannot take deposits")
    doc["DepositToAccountRef"] = account
    doc["TxnDate"] = _txn_date(realm, doc, now)
    text(doc, "PrivateNote")

    lines, total = [], ZERO
    for line in line_list(doc, needed=True):
        number = len(lines) + 1
        out: dict[str, Any] = {"Id": str(number), "LineNum": number}
        if text(line, "Description"):
            out["Description"] = line["Description"]
        if "LinkedTxn" in line:
            out["Amount"] = _deposited_payment(realm, line, id, out)
        elif line.get("DetailType") == "DepositLineDetail":
            detail = dict(line.get("DepositLineDetail") or {})
            detail["AccountRef"] = ref(realm, detail, "AccountRef", "Account", needed=True)
            if "Entity" in detail:
                detail["Entity"] = ref(realm, detail, "Entity", "Customer")
            out["Amount"] = money(line.get("Amount"), "Line.Amount")
            out.update(DetailType="DepositLineDetail", DepositLineDetail=detail)
        else:
            raise invalid("Line.DetailType", line.get("DetailType"))
        total += out["Amount"]
        lines.append(out)
    doc["Line"], doc["TotalAmt"] = lines, total
    return doc


def _deposited_payment(realm: Realm, line: dict, id: int | None, out: dict[str, Any]) -> Decimal:
    """Check a line moving a payment out of Undeposited Funds; return its amount."""
    _, payment_id = _linked(line, ("Payment",))
    payment = realm.get("Payment", payment_id)
    if payment is None:
        raise invalid_reference("Payment", payment_id, "Line.LinkedTxn.TxnId")
    if int(payment.fields["DepositToAccountRef"]) != realm.undeposited_funds:
        raise business(f"Payment {payment_id} was not received into Undeposited Funds")
    if any(source != id for source in realm.linked_to(payment.id)):
        raise business(f"Payment {payment_id} is already deposited")
    amount = payment.fields["TotalAmt"]
    if "Amount" in line and money(line["Amount"], "Line.Amount") != amount:
        raise business(f"Payment {payment_id} must be deposited whole ({amount})")
    out["LinkedTxn"] = [{"TxnId": payment_id, "TxnType": "Payment", "TxnLineId": "0"}]
    return amount


def _deposit_postings(realm: Realm, record: Record) -> Postings:
    moved = tuple(
        (int(realm.records[payment].fields["DepositToAccountRef"]), -amount)
        for payment, amount in realm.links_from(record.id).items()
    )
    return ((int(record.fields["DepositToAccountRef"]), record.fields["TotalAmt"]), *moved)


DEPOSIT = Entity(
    name="Deposit",
    writable=frozenset(
        {"TxnDate", "PrivateNote", "Line", "DepositToAccountRef", "CurrencyRef", "DepartmentRef"}
    ),
    computed=frozenset({"TotalAmt", "HomeTotalAmt"}),
    queryable={"TxnDate": "date", "TotalAmt": "decimal"},
    prepare=prepare_deposit,
    index=lambda doc: {
        "TxnDate": doc["TxnDate"],
        "TotalAmt": doc["TotalAmt"],
        "DepositToAccountRef": doc["DepositToAccountRef"]["value"],
    },
    links=_line_links,
    postings=_deposit_postings,
    deletable=True,
    defaults={"CurrencyRef": USD},
)

TRANSACTIONS = (INVOICE, CREDIT_MEMO, PAYMENT, DEPOSIT)
