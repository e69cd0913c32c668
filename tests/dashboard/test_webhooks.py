"""Settings → Webhooks: add an endpoint, see its secret and deliveries, rotate, replay, turn off."""

import pytest
from django.urls import reverse

from arbridge.core.models import AuditEntry
from arbridge.hooks import capture, tasks
from arbridge.hooks.models import Delivery, Endpoint
from tests.dashboard.conftest import make_invoice
from tests.hooks.conftest import receiver  # noqa: F401 (a fixture: the partner's endpoint)

WEBHOOKS = reverse("dashboard:webhooks")


@pytest.fixture
def added(client, alice, receiver):  # noqa: F811
    client.force_login(alice)
    response = client.post(
        WEBHOOKS,
        {"url": receiver.url, "description": "ERP", "events": ["invoice.created", "invoice.paid"]},
    )
    assert response.status_code == 302
    return Endpoint.objects.get()


def test_an_added_endpoint_shows_its_secret_and_events(client, added, alice):
    page = client.get(reverse("dashboard:webhook_endpoint", args=[added.pk]))

    assert "no-store" in page["Cache-Control"]
    html = page.content.decode()
    assert added.secret.startswith("whsec_") and added.secret in html
    assert "invoice.created" in html and "invoice.paid" in html
    assert added.events == ["invoice.created", "invoice.paid"]
    assert AuditEntry.objects.filter(action="webhook_endpoint.created", actor=alice).exists()


def test_a_url_that_is_not_http_is_refused(client, alice):
    client.force_login(alice)
    response = client.post(WEBHOOKS, {"url": "ftp://x.example/", "events": ["invoice.paid"]})

    assert "Enter a valid URL." in response.content.decode() or "http" in response.content.decode()
    assert not Endpoint.objects.exists()


def test_deliveries_are_listed_with_their_answer_and_can_be_replayed(
    client,
    added,
    customer,
    receiver,  # noqa: F811
):
    capture.capture(added.partner_id)  # the first look: from now on
    make_invoice(customer, "INV-2002", "80.00")
    tasks.send_webhooks.call_local()
    [delivery] = Delivery.objects.all()
    assert len(receiver.requests) == 1

    page = client.get(reverse("dashboard:webhook_endpoint", args=[added.pk])).content.decode()
    assert "invoice.created" in page and delivery.event.public_id in page
    assert "HTTP 200" in page and " ms" in page

    client.post(reverse("dashboard:replay_delivery", args=[delivery.pk]))
    assert len(receiver.requests) == 2
    assert receiver.requests[1].headers["Arbridge-Event-Id"] == delivery.event.public_id
    page = client.get(reverse("dashboard:webhook_endpoint", args=[added.pk])).content.decode()
    assert "(replayed)" in page


def test_rotating_keeps_the_old_secret_signing_for_the_overlap(client, added):
    old = added.secret
    client.post(reverse("dashboard:rotate_webhook_secret", args=[added.pk]), {"overlap_hours": 6})

    added.refresh_from_db()
    assert added.secret != old
    assert added.signing_secrets() == [added.secret, old]
    page = client.get(reverse("dashboard:webhook_endpoint", args=[added.pk])).content.decode()
    assert "The previous secret still signs too" in page


def test_turned_off_an_endpoint_is_sent_nothing_until_turned_on(
    client,
    added,
    customer,
    receiver,  # noqa: F811
):
    capture.capture(added.partner_id)
    client.post(reverse("dashboard:switch_webhook", args=[added.pk]), {"on": "0"})
    make_invoice(customer, "INV-2003", "80.00")
    tasks.send_webhooks.call_local()
    assert receiver.requests == []

    client.post(reverse("dashboard:switch_webhook", args=[added.pk]), {"on": "1"})
    tasks.send_webhooks.call_local()
    # Turned on again, it gets what happens from then on, not what it missed.
    assert receiver.requests == []
    make_invoice(customer, "INV-2004", "80.00")
    tasks.send_webhooks.call_local()
    [request] = receiver.requests
    assert b"INV-2004" in request.body
    added.refresh_from_db()
    assert added.is_active and added.failing_since is None


def test_a_finance_member_cannot_manage_webhooks(client, bob):
    client.force_login(bob)

    assert client.get(WEBHOOKS).status_code == 403
    assert (
        client.post(WEBHOOKS, {"url": "https://x.example/", "events": ["invoice.paid"]}).status_code
        == 403
    )
    assert not Endpoint.objects.exists()


def test_deleting_an_endpoint_removes_its_log(client, added):
    client.post(reverse("dashboard:delete_webhook", args=[added.pk]))

    assert not Endpoint.objects.exists()
    assert client.get(WEBHOOKS).status_code == 200
