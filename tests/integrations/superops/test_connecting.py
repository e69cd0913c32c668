"""Connecting SuperOps, and what each partner sees of it: its own invoices, PDFs rendered."""

import pytest
from django.db import connection as db
from django.db import transaction
from django.test import Client
from django.urls import reverse

from arbridge.connectors.superops import Credentials
from arbridge.core.models import Connection
from arbridge.integrations import credentials, outbox, writeback
from arbridge.integrations.models import OutboundCommand
from arbridge.ledger.models import Invoice, Payment
from arbridge.portal.models import PortalLink
from arbridge.sandbox.superops import TOKEN
from tests.integrations.qbo.fixtures import take_payment
from tests.integrations.superops.conftest import KIND, Books, form

pytestmark = pytest.mark.django_db


def test_the_token_is_checked_and_kept_encrypted(client, alice, connected):
    assert connected.remote_account == "sandbox"
    assert connected.credentials["token"] == TOKEN
    with db.cursor() as cursor:
        cursor.execute("SELECT credentials FROM core_connection WHERE id = %s", [connected.pk])
        (stored,) = cursor.fetchone()
    assert TOKEN not in stored


def test_a_wrong_token_is_refused_and_nothing_kept(client, alice, partner, superops):
    client.force_login(alice)

    response = client.post(f"/integrations/{KIND}/connect/", form(token="not-the-token"))

    assert response.status_code == 400
    assert "SuperOps refused these credentials" in response.content.decode()
    assert not Connection.objects.for_partner(partner).filter(kind=KIND).exists()


def test_balances_follow_what_is_settled_in_superops(connected, acme_books, sync):
    remote_id = acme_books.invoice(acme_books.client("Globex"), "200.00")
    sync(connected)
    acme_books.store.record_payment(acme_books.subdomain, {
        "invoice": {"invoiceId": remote_id}, "amount": "50.00", "paymentDate": "2026-03-02",
    })  # fmt: skip

    sync(connected)

    invoice = Invoice.objects.get(connection=connected)
    assert (invoice.total, invoice.balance) == (200, 150)
    assert invoice.customer.contacts.get().email == "ap@globex.example"


def test_each_partner_syncs_its_own_subdomain_and_sees_only_its_invoices(
    connected, acme_books, superops, other_partner, sync
):
    acme_books.invoice(acme_books.client("Globex"), "80.00")
    theirs = Books(superops.store, "othermsp")
    theirs.invoice(theirs.client("Initech"), "999.00")
    other = Connection(partner=other_partner, kind=KIND)
    credentials.connect(other, Credentials(subdomain="othermsp", token=TOKEN))

    sync(connected)
    sync(other)

    assert [i.customer.name for i in Invoice.objects.for_partner(connected.partner)] == ["Globex"]
    assert [i.customer.name for i in Invoice.objects.for_partner(other_partner)] == ["Initech"]


def test_invoices_have_no_native_pdf_so_the_portal_renders_one(
    connected, acme_books, sync, other_partner
):
    acme_books.invoice(acme_books.client("Globex"), "80.00")
    sync(connected)
    invoice = Invoice.objects.get(connection=connected)
    customer = Client()
    customer.get(PortalLink.issue(invoice.customer).get_absolute_url())
    partner = connected.partner

    pdf = customer.get(reverse("portal:invoice_pdf", args=[partner.slug, invoice.pk]))
    elsewhere = customer.get(reverse("portal:invoice_pdf", args=[other_partner.slug, invoice.pk]))

    # No native PDF sync for SuperOps (the seeds): arbridge renders the invoice.
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert elsewhere.status_code in (302, 403, 404)


def test_an_ach_return_deletes_the_payment_in_superops_once(
    connected, acme_books, sync, django_capture_on_commit_callbacks
):
    remote_id = acme_books.invoice(acme_books.client("Globex"), "80.00")
    sync(connected)
    payment = take_payment((Invoice.objects.get(connection=connected), "80.00"))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        writeback.payment_succeeded(payment)
    assert acme_books.store.account("sandbox").invoices[remote_id]["amountDue"] == "0.00"

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        payment.set_status(Payment.Status.RETURNED)
        [command] = writeback.payment_reversed(payment)
    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE, command.last_error
    command.status = OutboundCommand.Status.PENDING
    command.save(update_fields=["status"])
    outbox.deliver(command.pk)

    assert acme_books.payments_of(remote_id) == []
    assert acme_books.store.account("sandbox").invoices[remote_id]["amountDue"] == "80.00"


def test_a_payment_written_back_is_not_read_back_as_another(
    connected, acme_books, sync, django_capture_on_commit_callbacks
):
    acme_books.invoice(acme_books.client("Globex"), "80.00")
    sync(connected)
    payment = take_payment((Invoice.objects.get(connection=connected), "80.00"))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        writeback.payment_succeeded(payment)

    sync(connected)

    assert list(Payment.objects.filter(partner=connected.partner)) == [payment]
    assert Invoice.objects.get(connection=connected).balance == 0
