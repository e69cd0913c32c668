"""Two partners on FreshBooks: neither's callbacks, invoices or PDFs reach the other."""

from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from arbridge.connectors.freshbooks.webhooks import signature
from arbridge.core.models import Connection
from arbridge.integrations.models import WebhookEvent
from arbridge.ledger.models import Invoice
from arbridge.portal.models import PortalLink

pytestmark = pytest.mark.django_db


@pytest.fixture
def others(other_partner, acme_books) -> Connection:
    """Another partner's FreshBooks connection, to another business."""
    business = acme_books.sandbox.store.add_account(name="Other MSP's books")
    return Connection.objects.create(
        partner=other_partner,
        kind="freshbooks",
        status=Connection.Status.CONNECTED,
        remote_account=business,
        credentials={"webhook_verifier:1": "the-other-partner-s-verifier"},
    )


def verifier_of(connection: Connection) -> str:
    connection.refresh_from_db()
    return next(v for k, v in connection.credentials.items() if k.startswith("webhook_verifier:"))


def test_a_delivery_signed_with_one_partner_s_verifier_is_refused_at_the_other_s_url(
    client, connected, others
):
    fields = {"name": "invoice.update", "object_id": "5", "account_id": others.remote_account}
    body = urlencode(fields)

    response = client.post(
        f"/webhooks/freshbooks/{others.pk}",
        body,
        content_type="application/x-www-form-urlencoded",
        headers={"X-FreshBooks-Hmac-SHA256": signature(verifier_of(connected), fields)},
    )

    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_a_delivery_naming_one_partner_s_account_is_refused_at_the_other_s_url(
    client, connected, others
):
    fields = {"name": "invoice.update", "object_id": "5", "account_id": connected.remote_account}

    response = client.post(
        f"/webhooks/freshbooks/{others.pk}",
        urlencode(fields),
        content_type="application/x-www-form-urlencoded",
        headers={"X-FreshBooks-Hmac-SHA256": signature("the-other-partner-s-verifier", fields)},
    )

    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_an_invoice_synced_is_the_partner_s_alone_and_its_pdf_is_rendered(
    connected, acme_books, sync, other_partner
):
    acme_books.invoice(acme_books.client("Globex", "ap@globex.example"), "80.00")
    sync(connected)
    invoice = Invoice.objects.get()
    customer = Client()
    customer.get(PortalLink.issue(invoice.customer).get_absolute_url())
    partner = connected.partner

    pdf = customer.get(reverse("portal:invoice_pdf", args=[partner.slug, invoice.pk]))
    elsewhere = customer.get(reverse("portal:invoice_pdf", args=[other_partner.slug, invoice.pk]))

    # No native PDF sync for FreshBooks (the seeds): arbridge renders the invoice.
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert elsewhere.status_code in (302, 403, 404)
    assert Invoice.objects.for_partner(other_partner).count() == 0
