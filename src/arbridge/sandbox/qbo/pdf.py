"""An invoice as a PDF, as GET /invoice/<id>/pdf returns it.

Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#get-an-invoice-as-pdf
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fpdf import FPDF


def _money(value: Any) -> str:
    return f"${Decimal(value):,.2f}"


def _latin1(text: str) -> str:
    # The core fonts speak Latin-1 only; anything else becomes "?".
    return text.encode("latin-1", "replace").decode("latin-1")


def render_invoice(invoice: dict[str, Any], company_name: str) -> bytes:
    """Return an invoice (in its wire shape) as a one-or-more-page PDF."""
    pdf = FPDF(format="Letter")
    pdf.set_title(f"Invoice {invoice.get('DocNumber', invoice['Id'])}")
    pdf.set_creator("arbridge QuickBooks Online sandbox")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()

    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _latin1(company_name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 24)
    pdf.cell(0, 14, "INVOICE", new_x="LMARGIN", new_y="NEXT")

    pdf.set_font("Helvetica", "", 10)
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
        pdf.cell(90, 5, _latin1(text), new_x="LMARGIN", new_y="NEXT")
    for row, (label, value) in enumerate(facts):
        pdf.set_xy(120, top + row * 6)
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(30, 6, label)
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(0, 6, _latin1(value))
    pdf.set_y(max(pdf.get_y(), top + len(facts) * 6) + 8)

    widths = (100, 20, 30, 36)
    pdf.set_font("Helvetica", "B", 10)
    pdf.set_fill_color(230, 230, 230)
    for width, title in zip(widths, ("Description", "Qty", "Rate", "Amount"), strict=True):
        pdf.cell(
            width, 7, title, border="B", fill=True, align="L" if title == "Description" else "R"
        )
    pdf.ln()
    pdf.set_font("Helvetica", "", 10)
    for line in invoice.get("Line", []):
        if line.get("DetailType") == "SubTotalLineDetail":
            continue
        detail = line.get("SalesItemLineDetail", {})
        description = line.get("Description") or detail.get("ItemRef", {}).get("name", "")
        cells = (
            _latin1(description)[:60],
            str(detail.get("Qty", "")),
            _money(detail["UnitPrice"]) if "UnitPrice" in detail else "",
            _money(line["Amount"]) if "Amount" in line else "",
        )
        for width, text, align in zip(widths, cells, "LRRR", strict=True):
            pdf.cell(width, 6, text, align=align)
        pdf.ln()

    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 11)
    for label, value in (("Total", invoice["TotalAmt"]), ("Balance due", invoice["Balance"])):
        pdf.cell(sum(widths[:3]), 7, label, align="R")
        pdf.cell(widths[3], 7, _money(value), align="R", new_x="LMARGIN", new_y="NEXT")
    if invoice.get("CustomerMemo"):
        pdf.ln(6)
        pdf.set_font("Helvetica", "I", 10)
        pdf.multi_cell(0, 5, _latin1(invoice["CustomerMemo"]["value"]))
    return bytes(pdf.output())
