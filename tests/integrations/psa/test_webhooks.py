"""HaloPSA webhooks and ConnectWise callbacks: checked on every delivery, stored once, applied."""

import json

import pytest
from django.test import Client

from arbridge.core.models import Connection
from arbridge.integrations.models import WebhookEvent
from arbridge.ledger.models import Customer, Invoice
from arbridge.sandbox.connectwise import app as connectwise_app
from tests.integrations.psa.conftest import connect_connectwise

pytestmark = pytest.mark.django_db
SECRET = {"HTTP_X_ARBRIDGE_SECRET": "s3cret"}


def halo_event(entity: str, remote_id: int, event_id: str = "evt-1") -> str:
    event = {
        "id": event_id,
        "event": f"{entity.capitalize()} Updated",
        "object_type": entity,
        "object_id": remote_id,
        "timestamp": "2026-03-02T17:00:00Z",
    }
    return json.dumps([event])


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """Return a function that posts a delivery and runs the job it queues."""

    def post(url: str, body: str, **headers: str):
        with django_capture_on_commit_callbacks(execute=True):
            return Client().post(url, body, content_type="application/json", **headers)

    return post


def test_a_halopsa_invoice_hint_is_read_and_applied_once(halopsa, halo, post):
    client = halo.client("Globex Corporation")
    invoice = halo.invoice(client, ("Managed services", 1, "250.00"), invoicenumber="INV-7")
    url = f"/webhooks/halopsa/{halopsa.pk}"

    first = post(url, halo_event("invoice", invoice["id"]), **SECRET)
    again = post(url, halo_event("invoice", invoice["id"]), **SECRET)

    assert (first.status_code, again.status_code) == (200, 200)
    event = WebhookEvent.objects.get(connection=halopsa)
    assert event.status == WebhookEvent.Status.PROCESSED
    stored = Invoice.objects.for_partner(halopsa.partner).get(number="INV-7")
    assert str(stored.total) == "250.00"


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_X_ARBRIDGE_SECRET": "guess"}, {"HTTP_AUTHORIZATION": "Basic aGFsbzpzM2NyZXQ="}],
)
def test_a_halopsa_delivery_without_the_configured_secret_is_refused(halopsa, halo, post, headers):
    invoice = halo.invoice(halo.client("Globex Corporation"), invoicenumber="INV-8")

    response = post(
        f"/webhooks/halopsa/{halopsa.pk}", halo_event("invoice", invoice["id"]), **headers
    )

    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()
    assert not Invoice.objects.exists()


def test_a_disconnected_halopsa_takes_no_deliveries(halopsa, halo, post):
    halopsa.status = Connection.Status.DISCONNECTED
    halopsa.save()

    response = post(f"/webhooks/halopsa/{halopsa.pk}", halo_event("client", 1), **SECRET)

    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("halo_version", ["2.122.0"])
def test_below_2_122_1_invoices_wait_for_the_hourly_pull_but_clients_do_not(halopsa, halo, post):
    client = halo.client("Globex Corporation")
    invoice = halo.invoice(client, invoicenumber="INV-9")
    url = f"/webhooks/halopsa/{halopsa.pk}"

    post(url, halo_event("invoice", invoice["id"], "evt-inv"), **SECRET)
    post(url, halo_event("client", client["id"], "evt-client"), **SECRET)

    assert halopsa.credentials["version"] == "2.122.0"
    assert not Invoice.objects.exists()
    assert Customer.objects.for_partner(halopsa.partner).filter(name="Globex Corporation").exists()


@pytest.mark.parametrize("halo_version", ["2.122.1"])
def test_from_2_122_1_invoices_arrive_in_real_time(halopsa, halo, post):
    invoice = halo.invoice(halo.client("Globex Corporation"), invoicenumber="INV-10")

    post(f"/webhooks/halopsa/{halopsa.pk}", halo_event("invoice", invoice["id"]), **SECRET)

    assert halopsa.credentials["version"] == "2.122.1"
    assert Invoice.objects.filter(number="INV-10").exists()


@pytest.fixture
def connectwise(partner, connectwise_url) -> Connection:
    return connect_connectwise(Connection(partner=partner, kind="connectwise"), connectwise_url)


def connectwise_delivery(sandbox, connectwise_url: str, company_id: int) -> bytes:
    key_url = f"{connectwise_url}/callback-keys/{sandbox.signing_key_id}"
    body = {"Action": "updated", "Type": "company", "ID": company_id,
            "Metadata": {"key_url": key_url}}  # fmt: skip
    return json.dumps(body).encode()


def test_a_signed_connectwise_callback_is_stored_once(
    connectwise, connectwise_sandbox, connectwise_url, post
):
    body = connectwise_delivery(connectwise_sandbox, connectwise_url, 1)
    signature = connectwise_app.sign(connectwise_sandbox.signing_key, body)
    url = f"/webhooks/connectwise/{connectwise.pk}"

    first = post(url, body, HTTP_X_CONTENT_SIGNATURE=signature)
    again = post(url, body, HTTP_X_CONTENT_SIGNATURE=signature)

    assert (first.status_code, again.status_code) == (200, 200)
    assert WebhookEvent.objects.filter(connection=connectwise).count() == 1


def test_a_connectwise_callback_signed_with_another_key_is_refused(
    connectwise, connectwise_sandbox, connectwise_url, post
):
    body = connectwise_delivery(connectwise_sandbox, connectwise_url, 1)
    forged = connectwise_app.sign("someone else's key", body)

    response = post(
        f"/webhooks/connectwise/{connectwise.pk}", body, HTTP_X_CONTENT_SIGNATURE=forged
    )

    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()
