"""An invoice as a PDF, as POST /api/Invoice/PDF/{id} returns it.

The route answers with the PDF's bytes.
Reference: https://github.com/Midtown-Technology-Group/halocli (README, "invoices pdf")
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fpdf import FPDF


def _money(value: Any, currency: str) -> str:
    return f"{currency} {Decimal(value):,.2f}"


def _latin1(text: Any) -> str:
    # The core fonts speak Latin-1 only; anything else becomes "?".
    return str(text).encode("latin-1", "replace").decode("latin-1")


def render_invoice(invoice: dict[str, Any], company_name: str) -> bytes:
    """Return an invoice (in its wire shape, with lines) as a PDF."""
    currency = invoice.get("currency_code_name") or "USD"
    pdf = FPDF(format="Letter")
    pdf.set_title(f"Invoice {invoice['invoicenumber']}")
    pdf.set_creator("arbridge HaloPSA sandbox")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _latin1(company_name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 24)
    pdf.cell(0, 14, "INVOICE", new_x="LMARGIN", new_y="NEXT")

    pdf.set_font("Helvetica", "", 10)
    facts = [
        ("Invoice no.", invoice["invoicenumber"]),
        ("Customer", invoice.get("client_name") or "-"),
        ("Agreement", invoice.get("contract_ref") or "-"),
        ("Date", str(invoice.get("invoice_date", ""))[:10]),
        ("Due date", str(invoice.get("duedate", ""))[:10]),
    ]
    for label, value in facts:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(30, 6, label)
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(0, 6, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    if invoice.get("voided"):
        pdf.set_font("Helvetica", "B", 14)
        pdf.cell(0, 10, "VOID", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    widths = (100, 20, 30, 36)
    pdf.set_font("Helvetica", "B", 10)
    pdf.set_fill_color(230, 230, 230)
    for width, title in zip(widths, ("Description", "Qty", "Price", "Net"), strict=True):
        pdf.cell(width, 7, title, border="B", fill=True, align="L" if width == 100 else "R")
    pdf.ln()
    pdf.set_font("Helvetica", "", 10)
    for line in invoice.get("lines", []):
        cells = (
            _latin1(line.get("item_shortdescription") or line.get("item_code", ""))[:60],
            f"{Decimal(line['qty_order']).normalize():f}",
            _money(line["unit_price"], currency),
            _money(line["net_amount"], currency),
        )
        for width, text, align in zip(widths, cells, "LRRR", strict=True):
            pdf.cell(width, 6, text, align=align)
        pdf.ln()

    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 11)
    totals = (
        ("Tax", invoice["tax_total"]),
        ("Total", invoice["total"]),
        ("Amount due", invoice["amount_remaining"]),
    )
    for label, value in totals:
        pdf.cell(sum(widths[:3]), 7, label, align="R")
        pdf.cell(widths[3], 7, _money(value, currency), align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
