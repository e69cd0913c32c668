"""The invoice's PDF as QuickBooks Online renders it, served from the invoice page."""

import pytest
from django.urls import reverse

from arbridge.integrations.models import ExternalRef
from arbridge.ledger.models import Invoice

# The QuickBooks sandbox on loopback HTTP, and Acme's connection to a company in it.
pytest_plugins = ["tests.integrations.qbo.fixtures"]


@pytest.fixture
def invoice(qbo, company, sync, settings, tmp_path) -> Invoice:
    settings.DATA_DIR = tmp_path
    company.invoice(company.customer("Globex"), "1200.00", DocNumber="INV-2041")
    sync(qbo)
    return Invoice.objects.get()


def pdf_url(invoice: Invoice) -> str:
    return reverse("dashboard:invoice_pdf", args=[invoice.pk])


def content(response) -> bytes:
    return b"".join(response.streaming_content)


def test_the_pdf_is_quickbooks_own(client, alice, invoice):
    client.force_login(alice)

    response = client.get(pdf_url(invoice))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="Invoice INV-2041.pdf"' in response["Content-Disposition"]
    assert content(response).startswith(b"%PDF")
    assert (
        pdf_url(invoice)
        in client.get(reverse("dashboard:invoice", args=[invoice.pk])).content.decode()
    )


def test_it_is_fetched_once_per_version(client, alice, invoice, company, sync, qbo, tmp_path):
    client.force_login(alice)
    first = content(client.get(pdf_url(invoice)))
    # QuickBooks stops answering: the copy kept serves.
    company.http.post(
        "http://qbo.test/_sandbox/faults", json={"error_rate": 1, "error_kinds": ["503"]}
    )

    assert content(client.get(pdf_url(invoice))) == first

    company.http.post("http://qbo.test/_sandbox/faults", json={})
    ref = ExternalRef.objects.get(entity="invoice")
    company.update("Invoice", ref.remote_id, DueDate="2026-12-31")
    sync(qbo)
    assert content(client.get(pdf_url(invoice))).startswith(b"%PDF")
    assert len(list((tmp_path / "invoice-pdfs").glob("*.pdf"))) == 1


def test_an_invoice_no_connected_system_renders_has_no_pdf(client, alice, invoice, qbo):
    ExternalRef.objects.update(deleted_at=qbo.created_at)
    client.force_login(alice)

    assert client.get(pdf_url(invoice)).status_code == 404
    assert (
        pdf_url(invoice)
        not in client.get(reverse("dashboard:invoice", args=[invoice.pk])).content.decode()
    )


def test_another_partners_invoice_is_not_found(client, charlie, invoice):
    client.force_login(charlie)

    assert client.get(pdf_url(invoice)).status_code == 404
