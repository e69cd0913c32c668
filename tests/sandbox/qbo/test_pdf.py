"""GET /invoice/<id>/pdf: a real PDF of the invoice."""

import re
import zlib
from decimal import Decimal


def page_text(pdf: bytes) -> str:
    """Return the text drawn on the pages (fpdf2 deflates each page's stream)."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL)
    drawn = []
    for stream in streams:
        try:
            drawn.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            continue  # fonts and images are not page text
    return "".join(re.findall(r"\((.*?)\)\s*Tj", "".join(drawn)))


def page_count(pdf: bytes) -> int:
    """Return /Count of the document's page tree (the object whose /Type is /Pages)."""
    for body in re.findall(rb"\d+ 0 obj(.*?)endobj", pdf, re.DOTALL):
        if re.search(rb"/Type\s*/Pages\b", body):
            return int(re.search(rb"/Count\s+(\d+)", body).group(1))
    raise AssertionError("no page tree")


def test_the_pdf_is_a_real_pdf_of_the_invoice(qbo):
    customer = qbo.customer("Granite Realty Partners")
    lines = [
        {
            "DetailType": "SalesItemLineDetail",
            "Description": "Managed services, per device",
            "SalesItemLineDetail": {"Qty": 25, "UnitPrice": Decimal("45.00")},
        }
    ]
    invoice = qbo.create("Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": lines})

    qbo.http.headers["Accept"] = "application/pdf"
    response = qbo.get(f"invoice/{invoice['Id']}/pdf")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF-1.")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert page_count(pdf) == 1
    text = page_text(pdf)
    assert "INVOICE" in text
    assert invoice["DocNumber"] in text
    assert "Granite Realty Partners" in text
    assert "$1,125.00" in text


def test_a_long_invoice_runs_to_more_pages(qbo):
    customer = qbo.customer()
    lines = [
        {
            "Amount": Decimal("10.00"),
            "DetailType": "SalesItemLineDetail",
            "Description": f"Line {n}",
        }
        for n in range(80)
    ]
    invoice = qbo.create("Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": lines})

    pdf = qbo.get(f"invoice/{invoice['Id']}/pdf").content

    assert page_count(pdf) > 1
    assert "Line 79" in page_text(pdf)


def test_there_is_no_pdf_of_a_missing_invoice(qbo):
    assert qbo.get("invoice/999/pdf").status_code == 400
