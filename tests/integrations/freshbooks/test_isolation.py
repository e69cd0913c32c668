"""Two partners on FreshBooks: neither's callbacks, invoices or PDFs reach the other."""

from urllib.parse import urlencode

import pytest
from django.urls import reverse

from arbridge.connectors.freshbooks.webhooks import signature
from arbridge.core.models import Connection
from arbridge.integrations.models import WebhookEvent
from arbridge.ledger.models import Invoice

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
    client, alice, connected, acme_books, sync, other_partner, django_user_model
):
    acme_books.invoice(acme_books.client("Globex"), "80.00")
    sync(connected)
    invoice = Invoice.objects.get()
    client.force_login(alice)

    pdf = client.get(reverse("dashboard:invoice_pdf", args=[invoice.pk]))
    body = b"".join(pdf.streaming_content) if pdf.streaming else pdf.content

    assert pdf.status_code == 200 and body.startswith(b"%PDF")  # rendered by arbridge
    assert Invoice.objects.for_partner(other_partner).count() == 0
    stranger = django_user_model.objects.create_user("bob", "bob@other.example", "pw-12345678")
    other_partner.memberships.create(user=stranger, role="owner")
    client.force_login(stranger)
    assert client.get(reverse("dashboard:invoice_pdf", args=[invoice.pk])).status_code == 404
