"""An invoice as a PDF, as GET /invoice/<id>/pdf returns it.

Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#get-an-invoice-as-pdf
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from arbridge.sandbox.common import pdf as layout
from arbridge.sandbox.common.pdf import latin1


def _money(value: Any) -> str:
    return f"${Decimal(value):,.2f}"


def render_invoice(invoice: dict[str, Any], company_name: str) -> bytes:
    """Return an invoice (in its wire shape) as a one-or-more-page PDF."""
    pdf = layout.begin(
        f"Invoice {invoice.get('DocNumber', invoice['Id'])}",
        "arbridge QuickBooks Online sandbox",
        company_name,
    )
    customer = invoice.get("CustomerRef", {}).get("name", "")
    address = invoice.get("BillAddr", {})
    bill_to = [customer] + [
        address[key] for key in ("Line1", "Line2", "City", "PostalCode") if address.get(key)
    ]
    facts = [
        ("Invoice no.", invoice.get("DocNumber", "")),
        ("Date", invoice.get("TxnDate", "")),
        ("Due date", invoice.get("DueDate", "")),
        ("Terms", invoice.get("SalesTermRef", {}).get("name", "")),
    ]
    top = pdf.get_y() + 4
    pdf.set_xy(pdf.l_margin, top)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(90, 6, "Bill to", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for text in bill_to:
        pdf.cell(90, 5, latin1(text), new_x="LMARGIN", new_y="NEXT")
    for row, (label, value) in enumerate(facts):
        pdf.set_xy(120, top + row * 6)
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(30, 6, label)
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(0, 6, latin1(value))
    pdf.set_y(max(pdf.get_y(), top + len(facts) * 6) + 8)

    rows = []
    for line in invoice.get("Line", []):
        if line.get("DetailType") == "SubTotalLineDetail":
            continue
        detail = line.get("SalesItemLineDetail", {})
        description = line.get("Description") or detail.get("ItemRef", {}).get("name", "")
        rows.append(
            (
                latin1(description)[:60],
                str(detail.get("Qty", "")),
                _money(detail["UnitPrice"]) if "UnitPrice" in detail else "",
                _money(line["Amount"]) if "Amount" in line else "",
            )
        )
    layout.lines(pdf, ("Description", "Qty", "Rate", "Amount"), rows)
    layout.totals(
        pdf, [("Total", _money(invoice["TotalAmt"])), ("Balance due", _money(invoice["Balance"]))]
    )
    if invoice.get("CustomerMemo"):
        pdf.ln(6)
        pdf.set_font("Helvetica", "I", 10)
        pdf.multi_cell(0, 5, latin1(invoice["CustomerMemo"]["value"]))
    return bytes(pdf.output())
