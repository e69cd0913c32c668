"""Connecting Sage Intacct from the dashboard, its entity, write-back and isolation."""

from decimal import Decimal

import pytest
from django.db import transaction

from arbridge.core.models import Connection
from arbridge.integrations import outbox, writeback
from arbridge.integrations.models import OutboundCommand
from arbridge.ledger.models import Invoice, Payment
from tests.integrations.qbo.fixtures import take_payment
from tests.integrations.sage_intacct.conftest import COMPANY, KIND, form

pytestmark = pytest.mark.django_db


def test_connecting_checks_the_credentials_and_keeps_them_encrypted(client, alice, intacct):
    client.force_login(alice)

    response = client.post(f"/integrations/{KIND}/connect/", form())

    connection = Connection.objects.get(kind=KIND)
    assert response.status_code == 302
    assert connection.status == Connection.Status.CONNECTED
    assert connection.remote_account == f"{COMPANY}/EAST"
    assert connection.credentials["entity_id"] == "EAST"
    assert intacct.store.sessions  # the check opened a session


@pytest.mark.parametrize(
    "wrong", [{"user_password": "nope"}, {"sender_password": "nope"}, {"entity_id": "NORTH"}]
)
def test_refused_credentials_store_nothing(client, alice, intacct, wrong):
    client.force_login(alice)

    response = client.post(f"/integrations/{KIND}/connect/", form(**wrong))

    assert response.status_code == 400
    assert "Sage Intacct refused these credentials" in response.content.decode()
    assert not Connection.objects.filter(kind=KIND, status=Connection.Status.CONNECTED).exists()


def test_the_sync_brings_the_chosen_entitys_invoices_only(connected, intacct, sync):
    store = intacct.store
    east = store.add_customer(COMPANY, "East Clinic", email="ap@east.example", entity="EAST")
    west = store.add_customer(COMPANY, "West Clinic", email="ap@west.example", entity="WEST")
    store.add_invoice(COMPANY, east["CUSTOMERID"], [("Help desk", Decimal("120.00"))])
    store.add_invoice(COMPANY, west["CUSTOMERID"], [("Help desk", Decimal("999.00"))])

    sync(connected)

    [invoice] = Invoice.objects.filter(connection=connected)
    assert (invoice.customer.name, invoice.total) == ("East Clinic", Decimal("120.00"))
    assert [line.amount for line in invoice.lines.all()] == [Decimal("120.00")]


def test_another_partner_sees_none_of_acmes_intacct(connected, intacct, sync, client, charlie):
    store = intacct.store
    east = store.add_customer(COMPANY, "East Clinic", entity="EAST")
    store.add_invoice(COMPANY, east["CUSTOMERID"], [("Help desk", Decimal("120.00"))])
    sync(connected)
    client.force_login(charlie)

    page = client.get(f"/integrations/{connected.pk}/")

    assert page.status_code == 404
    assert not Invoice.objects.for_partner(charlie.memberships.get().partner).exists()
    assert Invoice.objects.filter(connection=connected).count() == 1


def test_a_payment_and_its_reversal_are_written_once_each(
    connected, intacct, sync, django_capture_on_commit_callbacks
):
    connected.preferences = {"payment_account_id": "BOA-OPERATING"}
    connected.save(update_fields=["preferences"])
    store = intacct.store
    east = store.add_customer(COMPANY, "East Clinic", entity="EAST")
    key = store.add_invoice(COMPANY, east["CUSTOMERID"], [("Help desk", Decimal("80.00"))])[
        "RECORDNO"
    ]
    sync(connected)
    payment = take_payment((Invoice.objects.get(connection=connected), "80.00"))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        [command] = writeback.payment_succeeded(payment)
    command.refresh_from_db()
    assert command.status == OutboundCommand.Status.DONE, command.last_error
    assert store.companies[COMPANY].invoices[int(key)]["TOTALDUE"] == "0.00"

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        payment.set_status(Payment.Status.RETURNED)
        [reversal] = writeback.payment_reversed(payment)
    reversal.status = OutboundCommand.Status.PENDING  # delivered again, as after a lost answer
    reversal.save(update_fields=["status"])
    outbox.deliver(reversal.pk)

    reversal.refresh_from_db()
    assert reversal.status == OutboundCommand.Status.DONE, reversal.last_error
    assert store.payments_of(COMPANY, key) == []
    assert store.companies[COMPANY].invoices[int(key)]["TOTALDUE"] == "80.00"
