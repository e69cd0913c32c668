"""Zoho Books on the Django side: connecting, pulling, writing back once, reversing, isolation."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from arbridge.integrations import outbox, writeback
from arbridge.integrations.models import Connection, ExternalRef, OutboundCommand
from arbridge.ledger.models import Invoice, Payment
from arbridge.portal.models import PortalLink
from tests.connectors.zoho_books.books import Books
from tests.integrations.qbo.fixtures import record_payout, take_payment
from tests.integrations.zoho_books.conftest import KIND, come_back, consent
from tests.portal.test_pages import pdf_text

pytestmark = pytest.mark.django_db


def bill(books, customer: str, *amounts: str) -> dict:
    contact = books.contact(customer, f"ap@{customer.lower()}.example")
    return books.invoice(contact["contact_id"], *amounts)


def test_connecting_stores_the_token_and_the_organization(client, alice, acme_books, sync):
    client.force_login(alice)
    callback = consent(client, KIND)
    assert callback.path == f"/integrations/{KIND}/callback/"
    assert callback.params["location"] == "us"

    response = come_back(client, callback)

    zoho = Connection.objects.get(kind=KIND)
    assert response["Location"] == f"/integrations/{zoho.pk}/"
    assert (zoho.status, zoho.remote_account) == (
        Connection.Status.CONNECTED,
        acme_books.organization_id,
    )
    assert zoho.credentials["token"]["refresh_token"]


def test_an_account_in_the_eu_data_centre_is_connected_and_synced_there(client, alice, zoho, sync):
    eu = Books(zoho, zoho.store.add_org(name="Acme Europe", location="eu"))
    bill(eu, "Globex", "120.00")
    client.force_login(alice)
    callback = consent(client, KIND)
    assert callback.params["location"] == "eu"

    come_back(client, callback)

    zoho_books = Connection.objects.get(kind=KIND)
    root = zoho_books.credentials["token_url"].removesuffix("/oauth/v2/token")
    # The code went to the EU accounts server, and the API calls go to the EU domain.
    assert root.endswith("/eu")
    assert zoho_books.credentials["api_domain"].endswith("/eu")
    sync(zoho_books)
    assert Invoice.objects.get(connection=zoho_books).total == Decimal("120.00")
    # A refresh goes to the EU accounts server too: the US one does not know the token.
    token = zoho_books.credentials["token"]
    zoho_books.credentials = {**zoho_books.credentials, "token": {**token, "expires_at": 1}}
    zoho_books.save(update_fields=["credentials"])
    sync(zoho_books)
    zoho_books.refresh_from_db()
    assert zoho_books.status == Connection.Status.CONNECTED
    assert zoho_books.credentials["token"]["access_token"] != token["access_token"]


def test_a_consent_naming_an_accounts_server_zoho_does_not_run_is_refused(client, alice, zoho):
    Books(zoho, zoho.store.add_org(name="Acme IT"))
    client.force_login(alice)
    callback = consent(client, KIND)
    forged = callback.copy_set_param("accounts-server", "https://accounts.evil.example")

    response = come_back(client, forged)

    assert response.status_code in (200, 302)
    assert not Connection.objects.filter(kind=KIND, status=Connection.Status.CONNECTED).exists()


def test_a_consent_reaching_two_organizations_asks_which(client, alice, zoho, acme_books):
    other = zoho.store.add_org(name="Acme Holdings")
    client.force_login(alice)

    response = come_back(client, consent(client, KIND))

    connection = Connection.objects.get(kind=KIND)
    assert response["Location"] == f"/integrations/{connection.pk}/account/"
    page = client.get(response["Location"]).content.decode()
    assert "Acme IT" in page and "Acme Holdings" in page

    client.post(response["Location"], {"account": other})

    connection.refresh_from_db()
    assert (connection.status, connection.remote_account) == ("connected", other)


def test_the_first_sync_brings_lines_billing_contacts_and_balances(connected, acme_books, sync):
    invoice = bill(acme_books, "Globex", "100.00", "50.00")
    acme_books.pay(invoice, "40.00")
    acme_books.credit(invoice, "10.00")

    sync(connected)

    held = Invoice.objects.get(connection=connected)
    assert (held.total, held.balance) == (Decimal("150.00"), Decimal("100.00"))
    assert [line.amount for line in held.lines.order_by("pk")] == [
        Decimal("100.00"),
        Decimal("50.00"),
    ]
    assert [c.email for c in held.customer.contacts.all()] == ["ap@globex.example"]
    external = Payment.objects.get(partner=connected.partner)
    assert (external.amount, external.origin) == (Decimal("40.00"), Payment.Origin.EXTERNAL)


def test_an_invoice_voided_in_zoho_is_archived(connected, acme_books, sync):
    invoice = bill(acme_books, "Globex", "80.00")
    sync(connected)

    acme_books.void(invoice["invoice_id"])
    sync(connected)

    assert Invoice.objects.get(connection=connected).archived


def test_the_preferences_offer_the_plan_and_the_organization_s_accounts(client, connected):
    page = client.get(f"/integrations/{connected.pk}/preferences/").content.decode()

    assert "Zoho Books plan" in page and "Record payments into" in page
    assert 'value="460000000000370"' in page  # Business Checking, from the chart of accounts


def test_a_payment_reversed_in_arbridge_is_deleted_in_zoho_once(
    client, connected, acme_books, sync, django_capture_on_commit_callbacks
):
    invoice = bill(acme_books, "Globex", "80.00")
    sync(connected)
    payment = take_payment((Invoice.objects.get(connection=connected), "80.00"))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        writeback.payment_succeeded(payment)
    assert acme_books.read(invoice["invoice_id"])["balance"] == Decimal("0.00")

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        payment.set_status(Payment.Status.RETURNED)
        [command] = writeback.payment_reversed(payment)
    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE, command.last_error
    command.status = OutboundCommand.Status.PENDING
    command.save(update_fields=["status"])
    outbox.deliver(command.pk)

    assert acme_books.payments_of(invoice["invoice_id"]) == []
    assert acme_books.read(invoice["invoice_id"])["balance"] == Decimal("80.00")


def test_a_payment_written_back_is_not_read_back_as_another(
    connected, acme_books, sync, django_capture_on_commit_callbacks
):
    bill(acme_books, "Globex", "80.00")
    sync(connected)
    payment = take_payment((Invoice.objects.get(connection=connected), "80.00"))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        writeback.payment_succeeded(payment)

    sync(connected)

    assert list(Payment.objects.filter(partner=connected.partner)) == [payment]
    invoice = Invoice.objects.get(connection=connected)
    assert (invoice.balance, invoice.status) == (Decimal("0.00"), Invoice.Status.PAID)
    assert ExternalRef.objects.filter(connection=connected, entity="payment").count() == 1


def test_another_partner_sees_nothing_of_acme_s_zoho_books(
    client, charlie, connected, acme_books, sync
):
    bill(acme_books, "Globex", "80.00")
    sync(connected)
    client.force_login(charlie)

    for url in (f"/integrations/{connected.pk}/", f"/integrations/{connected.pk}/preferences/"):
        assert client.get(url).status_code == 404
    assert not Invoice.objects.for_partner(charlie.memberships.get().partner).exists()


def test_a_payout_is_written_to_zoho_with_its_fees_apart_once_its_payments_are(
    client, connected, acme_books, sync, django_capture_on_commit_callbacks
):
    preferences = {
        "plan": "premium",
        "payment_account_id": "460000000000361",
        "create_deposits": "on",
        "deposit_account_id": "460000000000370",
        "fee_account_id": "460000000000400",
    }
    saved = client.post(f"/integrations/{connected.pk}/preferences/", preferences)
    assert saved.status_code == 302, saved.content
    bill(acme_books, "Globex", "150.00")
    sync(connected)
    payment = take_payment((Invoice.objects.get(connection=connected), "150.00"))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        writeback.payment_succeeded(payment)

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        [command] = writeback.deposit_recorded(record_payout([payment], fees="4.65"))

    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE, command.last_error
    rows = acme_books.app.store.org(acme_books.organization_id).banktransactions.values()
    assert sorted((r["transaction_type"], r["amount"]) for r in rows) == [
        ("expense", Decimal("4.65")),
        ("transfer_fund", Decimal("145.35")),
    ]


def test_creating_deposits_needs_its_accounts(client, connected):
    response = client.post(
        f"/integrations/{connected.pk}/preferences/", {"plan": "standard", "create_deposits": "on"}
    )

    assert response.status_code == 400
    assert "Choose the bank account." in response.content.decode()


def test_the_portal_renders_the_pdf_of_a_zoho_invoice_with_its_lines(connected, acme_books, sync):
    bill(acme_books, "Globex", "100.00", "25.50")
    sync(connected)
    invoice = Invoice.objects.get(connection=connected)
    browser = Client()
    browser.get(PortalLink.issue(invoice.customer).get_absolute_url())

    response = browser.get(reverse("portal:invoice_pdf", args=[connected.partner.slug, invoice.pk]))

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert f"INVOICE {invoice.number}" in text and "Managed services, line 2" in text
    assert "125.50 USD" in text
