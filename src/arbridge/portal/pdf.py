"""An invoice PDF that arbridge renders itself, for invoices no connected system renders."""

from fpdf import FPDF

from arbridge.core.money import format_money
from arbridge.ledger.models import Invoice

# Description, quantity, price, amount: 186 mm, a Letter page less its margins.
WIDTHS = (100, 20, 30, 36)


def text(value) -> str:
    # The core fonts speak Latin-1 only; anything else becomes "?".
    return str(value).encode("latin-1", "replace").decode("latin-1")


def render_invoice(invoice: Invoice) -> bytes:
    """Return the invoice as a PDF: partner, customer, number, dates, lines and totals."""
    partner, currency = invoice.partner, invoice.currency
    pdf = FPDF(format="Letter")
    pdf.set_title(f"Invoice {invoice.number}")
    pdf.set_creator("arbridge")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 9, text(partner.display_name or partner.name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    if partner.support_email:
        pdf.cell(0, 5, text(partner.support_email), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 22)
    pdf.cell(0, 12, f"INVOICE {text(invoice.number)}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    facts = [
        ("Bill to", invoice.customer.name),
        ("Issued", invoice.issue_date.strftime("%b %d, %Y")),
        ("Due", invoice.due_date.strftime("%b %d, %Y") if invoice.due_date else "On receipt"),
    ]
    if invoice.terms:
        facts.append(("Terms", invoice.terms))
    for label, value in facts:
        pdf.cell(25, 6, label)
        pdf.cell(0, 6, text(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    pdf.set_font("Helvetica", "B", 10)
    pdf.set_fill_color(230, 230, 230)
    for column, title in enumerate(("Description", "Qty", "Price", "Amount")):
        pdf.cell(WIDTHS[column], 7, title, border="B", fill=True, align="R" if column else "L")
    pdf.ln()
    pdf.set_font("Helvetica", "", 10)
    for line in invoice.lines.all():
        cells = (
            text(line.description or line.item)[:60],
            f"{line.quantity.normalize():f}",
            f"{line.unit_price:,.2f}",
            f"{line.amount:,.2f}",
        )
        for width, cell, align in zip(WIDTHS, cells, "LRRR", strict=True):
            pdf.cell(width, 6, cell, align=align)
        pdf.ln()

    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 11)
    paid = invoice.total - invoice.balance
    for label, amount in (("Total", invoice.total), ("Paid", paid), ("Balance", invoice.balance)):
        pdf.cell(sum(WIDTHS[:3]), 7, label, align="R")
        pdf.cell(
            WIDTHS[3], 7, format_money(amount, currency), align="R", new_x="LMARGIN", new_y="NEXT"
        )
    if invoice.memo:
        pdf.ln(6)
        pdf.set_font("Helvetica", "", 9)
        pdf.multi_cell(0, 5, text(invoice.memo))
    return bytes(pdf.output())
