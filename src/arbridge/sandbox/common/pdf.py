"""The parts of an invoice PDF the sandboxes print alike: heading, lines table, totals."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fpdf import FPDF

# Description, quantity, price, amount: 186 mm, a Letter page less its margins.
WIDTHS = (100, 20, 30, 36)


def latin1(text: Any) -> str:
    # The core fonts speak Latin-1 only; anything else becomes "?".
    return str(text).encode("latin-1", "replace").decode("latin-1")


def begin(title: str, creator: str, company_name: str) -> FPDF:
    """Return a Letter PDF headed with the company's name and INVOICE."""
    pdf = FPDF(format="Letter")
    pdf.set_title(title)
    pdf.set_creator(creator)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, latin1(company_name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 24)
    pdf.cell(0, 14, "INVOICE", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    return pdf


def lines(pdf: FPDF, titles: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> None:
    """Print the invoice's lines under a shaded heading, text left and numbers right."""
    pdf.set_font("Helvetica", "B", 10)
    pdf.set_fill_color(230, 230, 230)
    for column, (width, title) in enumerate(zip(WIDTHS, titles, strict=True)):
        pdf.cell(width, 7, title, border="B", fill=True, align="R" if column else "L")
    pdf.ln()
    pdf.set_font("Helvetica", "", 10)
    for cells in rows:
        for width, text, align in zip(WIDTHS, cells, "LRRR", strict=True):
            pdf.cell(width, 6, text, align=align)
        pdf.ln()


def totals(pdf: FPDF, rows: Iterable[tuple[str, str]]) -> None:
    """Print labelled amounts under the lines' last column."""
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 11)
    for label, amount in rows:
        pdf.cell(sum(WIDTHS[:3]), 7, label, align="R")
        pdf.cell(WIDTHS[3], 7, amount, align="R", new_x="LMARGIN", new_y="NEXT")
