"""Invoices written to QuickBooks Online by the Sync Tool, and what choosing their lines needs.

The Sync Tool copies a PSA's invoice into QuickBooks with the same number and
amounts. A copy must never be made twice: the create carries the command's
key as `requestid`, and before it anything already holding the number
(DocNumber) is taken as the copy. The customer is the QuickBooks customer of
the same name, or a new one created under a request id of its own.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from arbridge.connectors.base import InvoiceSummary, PermanentError, RemoteRef, SaleItem
from arbridge.connectors.qbo.client import QuickBooksClient, quote
from arbridge.connectors.qbo.mapping import HOME_CURRENCY, decimal

CENT = Decimal("0.01")


Item = SaleItem


# What the Sync Tool and external payments compare of a QuickBooks invoice.
InvoiceCopy = InvoiceSummary


def items(client: QuickBooksClient) -> list[Item]:
    """Return the company's active items that can be sold on an invoice line."""
    found = []
    for page in client.pages("Item", where=("Active = true",)):
        for raw in page.records:
            if raw.get("Type") in ("Category", "Group"):
                continue  # neither can be a line's item
            account = raw.get("IncomeAccountRef") or {}
            found.append(
                Item(
                    id=str(raw["Id"]),
                    name=str(raw.get("Name", "")),
                    type=str(raw.get("Type", "")),
                    income_account_id=str(account.get("value", "")),
                    income_account_name=str(account.get("name", "")),
                )
            )
    return found


def find_invoice(client: QuickBooksClient, number: str) -> dict[str, Any] | None:
    """Return the invoice carrying this number (DocNumber), if QuickBooks has one."""
    # Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#query-an-invoice
    text = f"select * from Invoice where DocNumber = {quote(number)}"  # noqa: S608 - not SQL
    records = client.query("Invoice", text).records
    return records[0] if records else None


def invoice_copy(client: QuickBooksClient, invoice_id: str) -> InvoiceCopy:
    """Return an invoice's number, total and customer's name, as QuickBooks has them now."""
    raw = client.read("Invoice", invoice_id)
    customer = raw.get("CustomerRef") or {}
    name = customer.get("name")
    if not name and customer.get("value"):
        name = client.read("Customer", str(customer["value"])).get("DisplayName", "")
    return InvoiceCopy(
        id=str(raw["Id"]),
        number=str(raw.get("DocNumber") or raw["Id"]),
        total=Decimal(str(raw.get("TotalAmt", 0))).quantize(CENT),
        customer_name=str(name or ""),
    )


def customer_id(client: QuickBooksClient, name: str, key: str) -> str:
    """Return the id of the active customer of this name, creating it if there is none."""
    # Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
    text = f"select * from Customer where DisplayName = {quote(name)}"  # noqa: S608 - not SQL
    records = client.query("Customer", text).records
    if records:
        return str(records[0]["Id"])
    created = client.write("Customer", {"DisplayName": name}, request_id=f"{key}:customer")
    return str(created["Id"])


def create_invoice(client: QuickBooksClient, payload: dict[str, Any], key: str) -> RemoteRef:
    """Copy a PSA invoice into QuickBooks once; return the copy, whether made now or before."""
    number = str(payload["number"])
    existing = find_invoice(client, number)
    if existing is not None:
        return RemoteRef(str(existing["Id"]), str(existing.get("SyncToken", "")))
    body = invoice_body(payload, customer_id(client, str(payload["customer_name"]), key))
    # Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#create-an-invoice
    invoice = client.write("Invoice", body, request_id=key)
    return RemoteRef(str(invoice["Id"]), str(invoice.get("SyncToken", "")))


def invoice_body(payload: dict[str, Any], customer: str) -> dict[str, Any]:
    """Return the QuickBooks Invoice: each line under the chosen item and income account."""
    item = payload.get("item_id")
    if not item:
        raise PermanentError("no QuickBooks item is chosen for the Sync Tool's invoice lines")
    detail: dict[str, Any] = {"ItemRef": {"value": str(item)}, "Qty": 1}
    if account := payload.get("income_account_id"):
        # An income account other than the item's own, for this line.
        detail["ItemAccountRef"] = {"value": str(account)}
    lines = []
    for line in payload["lines"]:
        amount = decimal(line["amount"], "line amount")
        lines.append(
            {
                "Amount": amount,
                "Description": str(line.get("description") or "")[:4000],
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {**detail, "UnitPrice": amount},
            }
        )
    total = sum((line["Amount"] for line in lines), Decimal(0))
    if total != decimal(payload["total"], "total"):
        raise PermanentError(f"the lines add up to {total}, not the invoice's {payload['total']}")
    body: dict[str, Any] = {
        "CustomerRef": {"value": customer},
        "DocNumber": str(payload["number"])[:21],
        "TxnDate": str(payload["date"]),
        "CurrencyRef": {"value": payload.get("currency") or HOME_CURRENCY},
        "Line": lines,
    }
    if payload.get("due_date"):
        body["DueDate"] = str(payload["due_date"])
    return body
