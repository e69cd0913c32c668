"""What the customer sees: open invoices, one invoice, and its PDF."""

import re
import zlib
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from arbridge.ledger.models import Invoice, Payment
from arbridge.portal.models import PortalLink

pytest_plugins = ["tests.integrations.qbo.fixtures"]


def invoices_page(portal, partner) -> str:
    return portal.get(reverse("portal:invoices", args=[partner.slug])).content.decode()


def row(page: str, number: str) -> str:
    """Return the table row of one invoice on the invoices page."""
    return next(r for r in page.split("<tr>") if f">{number}</a>" in r)


def hold(invoice: Invoice, amount: str) -> Payment:
    """Start an ACH payment on the invoice that has not settled."""
    payment = Payment.objects.create(
        partner_id=invoice.partner_id,
        customer=invoice.customer,
        amount=Decimal(amount),
        method=Payment.Method.ACH,
    )
    payment.allocate(invoice, Decimal(amount))
    return payment


def test_open_invoices_show_balance_due_date_and_overdue(portal, partner, overdue, current):
    page = invoices_page(portal, partner)

    assert "Overdue" in row(page, "INV-1001")
    assert "Overdue" not in row(page, "INV-1002")
    assert "1,500.00 USD" in row(page, "INV-1001")
    assert 'value="1500.00"' in row(page, "INV-1001")


def test_a_pending_payment_is_shown_and_held(portal, partner, overdue, current):
    hold(current, "100.00")
    hold(overdue, "1500.00")

    page = invoices_page(portal, partner)

    assert "Payment pending" in row(page, "INV-1002")
    # Only what is not held may be paid.
    assert 'value="350.00"' in row(page, "INV-1002")
    assert "Payment pending" in row(page, "INV-1001")
    assert 'name="invoice"' not in row(page, "INV-1001")


def test_paid_and_void_invoices_are_not_listed(portal, partner, overdue, current):
    current.set_source_balance(Decimal(0))
    overdue.void()

    page = invoices_page(portal, partner)

    assert "INV-1001" not in page and "INV-1002" not in page
    assert "You have no open invoices" in page


def test_the_invoice_page_shows_lines_and_totals(portal, partner, overdue):
    hold(overdue, "200.00")

    page = portal.get(reverse("portal:invoice", args=[partner.slug, overdue.pk])).content.decode()

    assert "Invoice INV-1001" in page
    assert "Per-seat support for INV-1001" in page
    assert "pending until your bank settles it" in page
    assert reverse("portal:invoice_pdf", args=[partner.slug, overdue.pk]) in page


def pdf_text(content: bytes) -> str:
    """Return the text drawn on the PDF's pages, from its compressed content streams."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", content, re.S)
    return b"".join(zlib.decompress(s) for s in streams if s[:1] == b"x").decode("latin-1")


def test_without_a_native_pdf_arbridge_renders_one(portal, partner, overdue):
    response = portal.get(reverse("portal:invoice_pdf", args=[partner.slug, overdue.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="Invoice INV-1001.pdf"' in response["Content-Disposition"]
    text = pdf_text(response.content)
    for expected in ("Acme IT", "Globex Corporation", "INVOICE INV-1001", "Per-seat support"):
        assert expected in text
    assert "1,500.00 USD" in text  # total and balance


@pytest.fixture
def synced_invoice(qbo, company, sync, settings, tmp_path) -> Invoice:
    settings.DATA_DIR = tmp_path
    company.invoice(company.customer("Globex"), "1200.00", DocNumber="INV-2041")
    sync(qbo)
    return Invoice.objects.get(number="INV-2041")


def test_the_pdf_is_the_connected_systems_own_when_it_renders_one(partner, synced_invoice):
    client = Client()
    client.get(PortalLink.issue(synced_invoice.customer).get_absolute_url())

    response = client.get(reverse("portal:invoice_pdf", args=[partner.slug, synced_invoice.pk]))

    content = b"".join(response.streaming_content)
    assert content.startswith(b"%PDF")
    assert b"QuickBooks Online sandbox" in content


def test_the_logo_is_served_from_the_portal(client, partner, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    partner.logo.save("acme.png", ContentFile(b"\x89PNG fake"), save=True)

    response = client.get(reverse("portal:logo", args=[partner.slug]))

    assert b"".join(response.streaming_content) == b"\x89PNG fake"
