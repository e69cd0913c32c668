"""An AR invoice as the PDF `retrievepdf` returns (base64 in the answer's pdfdata).

# Reference: https://developer.intacct.com/api/order-entry/order-entry-transactions/#get-order-entry-transaction-pdf-data
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from arbridge.sandbox.common import pdf as layout
from arbridge.sandbox.common.pdf import latin1


def render_invoice(invoice: dict[str, Any], lines: list[dict[str, Any]], company: str) -> bytes:
    """Return an AR invoice (its fields) and its lines as a PDF."""
    pdf = layout.begin(f"Invoice {invoice['RECORDID']}", "arbridge Sage Intacct sandbox", company)
    for label, key in (
        ("Invoice no.", "RECORDID"),
        ("Customer", "CUSTOMERNAME"),
        ("Date", "WHENCREATED"),
        ("Due date", "WHENDUE"),
    ):
        pdf.cell(0, 6, latin1(f"{label}: {invoice.get(key, '')}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    rows = [
        (latin1(line["ENTRYDESCRIPTION"])[:60], "1", money(line["AMOUNT"]), money(line["AMOUNT"]))
        for line in sorted(lines, key=lambda line: int(line["LINE_NO"]))
    ]
    layout.lines(pdf, ("Description", "Qty", "Price", "Amount"), rows)
    layout.totals(
        pdf, [("Total", money(invoice["TOTALENTERED"])), ("Amount due", money(invoice["TOTALDUE"]))]
    )
    return bytes(pdf.output())


def money(value: Any) -> str:
    return f"${Decimal(value):,.2f}"
