"""An invoice as a PDF, as POST /api/Invoice/PDF/{id} returns it.

The route answers with the PDF's bytes.
Reference: https://github.com/Midtown-Technology-Group/halocli (README, "invoices pdf")
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from arbridge.sandbox.common import pdf as layout
from arbridge.sandbox.common.pdf import latin1


def _money(value: Any, currency: str) -> str:
    return f"{currency} {Decimal(value):,.2f}"


def render_invoice(invoice: dict[str, Any], company_name: str) -> bytes:
    """Return an invoice (in its wire shape, with lines) as a PDF."""
    currency = invoice.get("currency_code_name") or "USD"
    pdf = layout.begin(
        f"Invoice {invoice['invoicenumber']}", "arbridge HaloPSA sandbox", company_name
    )
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
        pdf.cell(0, 6, latin1(value), new_x="LMARGIN", new_y="NEXT")
    if invoice.get("voided"):
        pdf.set_font("Helvetica", "B", 14)
        pdf.cell(0, 10, "VOID", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    rows = [
        (
            latin1(line.get("item_shortdescription") or line.get("item_code", ""))[:60],
            f"{Decimal(line['qty_order']).normalize():f}",
            _money(line["unit_price"], currency),
            _money(line["net_amount"], currency),
        )
        for line in invoice.get("lines", [])
    ]
    layout.lines(pdf, ("Description", "Qty", "Price", "Net"), rows)
    totals = (
        ("Tax", invoice["tax_total"]),
        ("Total", invoice["total"]),
        ("Amount due", invoice["amount_remaining"]),
    )
    layout.totals(pdf, [(label, _money(value, currency)) for label, value in totals])
    return bytes(pdf.output())
