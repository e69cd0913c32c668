"""The pages: Integrations > Preferences, Sync Invoices and its Preferences, the invoice page."""

from decimal import Decimal

import pytest

from arbridge.core.models import Connection
from arbridge.integrations.models import IntegrationPreferences, MirroredPayment, SyncedInvoice
from arbridge.ledger.models import Invoice

pytestmark = pytest.mark.django_db


def test_the_preference_says_what_is_missing_and_stays_off(client, alice, partner, quickbooks):
    client.force_login(alice)
    page = client.get("/integrations/preferences/").content.decode()
    assert "A ConnectWise PSA integration is not set up." in page

    client.post("/integrations/preferences/", {"external_payments": "on"})

    assert not IntegrationPreferences.for_partner_of(partner.pk).external_payments


def test_turned_on_it_stops_when_an_integration_disconnects_and_says_why(
    client, alice, partner, quickbooks, connectwise
):
    client.force_login(alice)
    client.post("/integrations/preferences/", {"external_payments": "on"})
    assert IntegrationPreferences.for_partner_of(partner.pk).external_payments

    Connection.objects.filter(pk=quickbooks.pk).update(status=Connection.Status.DISCONNECTED)
    page = client.get("/integrations/preferences/").content.decode()

    assert "External payments sync has stopped" in page
    assert "The QuickBooks Online integration is disconnected." in page


def test_a_finance_teammate_cannot_switch_it(client, bob, partner, quickbooks, connectwise):
    client.force_login(bob)
    response = client.post("/integrations/preferences/", {"external_payments": "on"})
    assert response.status_code == 403
    assert not IntegrationPreferences.for_partner_of(partner.pk).external_payments


def test_the_sync_tool_lists_closed_invoices_and_syncs_them_once(
    client, alice, partner, quickbooks, connectwise, cw, books, django_capture_on_commit_callbacks
):
    closed = cw.invoice("Globex Corporation", "150.00", "1001")
    cw.invoice("Globex Corporation", "99.00", "1002", closed=False)
    client.force_login(alice)

    page = client.get("/integrations/sync-invoices/preferences/").content.decode()
    assert "Services" in page
    assert "External Payments" not in page  # only once the Sync Tool is in use
    [item] = books.find("Item", Name="Services")
    [income] = books.find("Account", Name="Services")
    client.post(
        "/integrations/sync-invoices/preferences/",
        {"item": item["Id"], "income_account": income["Id"]},
    )

    page = client.get("/integrations/sync-invoices/").content.decode()
    assert "1001" in page
    assert "1002" not in page  # not closed
    for _ in range(2):  # chosen twice, synced once
        with django_capture_on_commit_callbacks(execute=True):
            client.post("/integrations/sync-invoices/sync/", {"invoice": [str(closed["id"])]})

    [copy] = books.find("Invoice", DocNumber="1001")
    assert Decimal(copy["TotalAmt"]) == Decimal("150.00")
    assert copy["CustomerRef"]["name"] == "Globex Corporation"
    [line] = [line for line in copy["Line"] if line["DetailType"] == "SalesItemLineDetail"]
    assert line["SalesItemLineDetail"]["ItemRef"]["value"] == item["Id"]
    assert line["SalesItemLineDetail"]["ItemAccountRef"]["value"] == income["Id"]
    invoice = Invoice.objects.get(number="1001")
    assert SyncedInvoice.objects.get().invoice == invoice
    kinds = {ref.connection.kind for ref in invoice_refs(invoice)}
    assert kinds == {"qbo", "connectwise"}
    page = client.get("/integrations/sync-invoices/").content.decode()
    assert "Every closed ConnectWise invoice is in QuickBooks Online." in page
    assert "Synced with the Sync Tool" in client.get(f"/invoices/{invoice.pk}/").content.decode()


def test_the_sync_mode_shows_once_the_tool_is_in_use_with_its_warning(
    client, alice, partner, quickbooks, connectwise, books
):
    preferences = IntegrationPreferences.for_partner_of(partner.pk)
    preferences.sync_tool_in_use = True
    preferences.save()
    client.force_login(alice)

    page = client.get("/integrations/sync-invoices/preferences/").content.decode()
    assert "External Payments" in page
    assert "Synced Invoices Only mode requires that invoices were originally synced" in page
    [item] = books.find("Item", Name="Services")
    client.post(
        "/integrations/sync-invoices/preferences/",
        {"item": item["Id"], "income_account": "", "sync_mode": "synced_only"},
    )

    preferences.refresh_from_db()
    assert preferences.sync_mode == IntegrationPreferences.Mode.SYNCED_ONLY


def test_skipped_payments_are_listed_with_their_reason_to_their_partner_only(
    client, alice, charlie, partner, preferences, cw, books, quickbooks, connectwise, sync,
    reconcile,
):  # fmt: skip
    cw.invoice("Globex Corporation", "175.00", "1001")
    in_qbo = books.invoice(books.customer("Globex Corporation"), "150.00", DocNumber="1001")
    sync(quickbooks)
    books.pay(in_qbo, "40.00")
    sync(quickbooks)
    reconcile()
    [row] = MirroredPayment.objects.all()
    assert row.reason == MirroredPayment.Reason.INVOICES_DIFFER

    client.force_login(alice)
    page = client.get("/integrations/preferences/").content.decode()
    assert "Invoices differ" in page
    assert "150.00 in QuickBooks Online, 175.00 in ConnectWise PSA" in page
    client.force_login(charlie)
    page = client.get("/integrations/preferences/").content.decode()
    assert "No skipped payments." in page
    assert client.get(f"/invoices/{row.invoice_id}/").status_code == 404


def test_an_outsider_cannot_sync_anothers_invoices(
    client, charlie, partner, quickbooks, connectwise, cw
):
    closed = cw.invoice("Globex Corporation", "150.00", "1001")
    client.force_login(charlie)

    client.post("/integrations/sync-invoices/sync/", {"invoice": [str(closed["id"])]})

    assert not SyncedInvoice.objects.exists()
    assert not Invoice.objects.exists()


def invoice_refs(invoice):
    from arbridge.integrations.models import ExternalRef

    return ExternalRef.objects.filter(entity="invoice", local_id=invoice.pk)
