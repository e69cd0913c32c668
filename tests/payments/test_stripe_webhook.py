"""POST /webhooks/stripe/<partner_slug>/: verified with the partner's secret, kept, applied once."""

import json

import pytest

from arbridge.integrations.models import WebhookEvent
from arbridge.payments.models import PaymentSettings, ProcessorEvent
from tests.payments.stripe_fixtures import PUBLISHABLE_KEY, SECRET_KEY, fixture, sign

ACME_SECRET = "whsec_acme"
OTHER_SECRET = "whsec_other"


def use_stripe(partner, webhook_secret: str) -> None:
    settings = PaymentSettings.of(partner)
    settings.processor = PaymentSettings.Processor.STRIPE
    settings.credentials = {
        "secret_key": SECRET_KEY,
        "publishable_key": PUBLISHABLE_KEY,
        "webhook_secret": webhook_secret,
        # Nothing here is asked of Stripe: a succeeded PaymentIntent event is read as sent.
        "api_base": "http://127.0.0.1:9",
    }
    settings.save()


@pytest.fixture
def acme(partner):
    use_stripe(partner, ACME_SECRET)
    return partner


@pytest.fixture
def other(other_partner):
    use_stripe(other_partner, OTHER_SECRET)
    return other_partner


def succeeded(event_id: str = "evt_1") -> bytes:
    intent = fixture("payment_intent", id="pi_unknown", status="succeeded", amount_received=700)
    event = fixture("event", id=event_id, type="payment_intent.succeeded", data={"object": intent})
    return json.dumps(event).encode()


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    """Deliver as Stripe does; the job a delivery enqueues runs as its request commits."""

    def deliver(partner, body: bytes, signature: str):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                f"/webhooks/stripe/{partner.slug}/",
                body,
                content_type="application/json",
                headers={"Stripe-Signature": signature},
            )

    return deliver


def test_a_signed_event_is_stored_once_and_applied_once(post, acme):
    body = succeeded()

    assert post(acme, body, sign(body, ACME_SECRET)).status_code == 200
    assert post(acme, body, sign(body, ACME_SECRET)).status_code == 200

    applied = ProcessorEvent.objects.filter(partner=acme)
    assert [(e.event_id, e.kind, e.reference) for e in applied] == [
        ("evt_1", "payment.succeeded", "pi_unknown")
    ]
    (stored,) = WebhookEvent.objects.filter(partner=acme)
    assert (stored.source, stored.status, bytes(stored.body)) == ("stripe", "processed", body)
    assert stored.headers["stripe-signature"].startswith("t=")


def test_an_unsigned_or_wrongly_signed_delivery_is_refused_and_not_kept(post, acme):
    body = succeeded()

    assert post(acme, body, "").status_code == 401
    assert post(acme, body, sign(body, "whsec_guess")).status_code == 401
    assert post(acme, body, sign(body, ACME_SECRET, timestamp=1)).status_code == 401

    assert not ProcessorEvent.objects.exists()
    assert not WebhookEvent.objects.exists()


def test_another_partners_event_is_refused(post, acme, other):
    body = succeeded()

    response = post(acme, body, sign(body, OTHER_SECRET))

    assert response.status_code == 401
    assert not ProcessorEvent.objects.exists()
    assert post(other, body, sign(body, OTHER_SECRET)).status_code == 200
    assert list(ProcessorEvent.objects.values_list("partner", flat=True)) == [other.pk]


def test_events_arbridge_does_not_act_on_are_acknowledged(post, acme):
    body = json.dumps(fixture("event", id="evt_plan")).encode()

    assert post(acme, body, sign(body, ACME_SECRET)).status_code == 200
    assert not ProcessorEvent.objects.exists()


def test_a_partner_not_on_stripe_has_no_endpoint(client, post, partner):
    body = succeeded()

    assert post(partner, body, sign(body, ACME_SECRET)).status_code == 404
    assert (
        client.post("/webhooks/stripe/nobody/", body, content_type="application/json").status_code
        == 404
    )


def test_only_post_is_accepted(client, acme):
    assert client.get(f"/webhooks/stripe/{acme.slug}/").status_code == 405


def test_a_payout_that_cannot_be_read_yet_is_kept_with_the_reason(post, acme):
    # Stripe is unreachable (api_base points nowhere), so the payout's items are unknown.
    payout = fixture("payout", id="po_1", status="paid")
    body = json.dumps(fixture("event", id="evt_po", type="payout.paid", data={"object": payout}))

    response = post(acme, body.encode(), sign(body.encode(), ACME_SECRET))

    # Answered at once, before Stripe is asked; the minute poll applies the payout later.
    assert response.status_code == 200
    assert not ProcessorEvent.objects.exists()
    (stored,) = WebhookEvent.objects.filter(partner=acme)
    assert stored.status == "failed"
    assert stored.error.startswith("The processor could not be asked")
