"""Deliveries: signed, deduplicable, retried, given up after 3 days, never to private addresses."""

import datetime as dt
import hashlib
import hmac
import json
import sys

import pytest
import time_machine
from cryptography.fernet import Fernet

from arbridge.hooks import delivery
from arbridge.hooks.models import Delivery, Endpoint, Event
from tests.core.test_settings import run

NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def owe(endpoint: Endpoint, key: str = "invoice.paid:1") -> Delivery:
    event = Event.objects.create(
        partner_id=endpoint.partner_id,
        key=key,
        type="invoice.paid",
        data={"object": "invoice", "id": 1, "number": "INV-1", "balance": "0.00"},
    )
    return Delivery.objects.create(partner_id=endpoint.partner_id, event=event, endpoint=endpoint)


def check(body: bytes, header: str, secret: str) -> bool:
    fields = dict(item.split("=", 1) for item in header.split(",") if item.startswith("t="))
    macs = [item[3:] for item in header.split(",") if item.startswith("v1=")]
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256)
    return expected.hexdigest() in macs


def test_a_delivery_is_posted_signed_with_its_event_id(endpoint, receiver):
    owed = owe(endpoint)

    sent = delivery.deliver(owed.pk)

    [request] = receiver.requests
    body = json.loads(request.body)
    assert body["id"] == owed.event.public_id == request.headers["Arbridge-Event-Id"]
    assert body["type"] == "invoice.paid" and body["data"]["number"] == "INV-1"
    assert check(request.body, request.headers["Arbridge-Signature"], endpoint.secret)
    assert (sent.status, sent.attempts, sent.last_status_code) == ("succeeded", 1, 200)
    [attempt] = sent.attempt_log.all()
    assert attempt.status_code == 200 and attempt.duration_ms >= 0


def test_a_delivered_event_is_not_sent_again_unless_replayed(endpoint, receiver):
    owed = owe(endpoint)
    delivery.deliver(owed.pk)

    assert delivery.deliver(owed.pk) is None
    delivery.replay(Delivery.objects.get(pk=owed.pk))

    first, again = receiver.requests
    assert first.body == again.body  # the same event id: the receiver deduplicates by it
    assert [a.replay for a in owed.attempt_log.order_by("at", "id")] == [False, True]


def test_a_failing_endpoint_is_retried_with_backoff_then_given_up_after_three_days(
    endpoint, receiver
):
    receiver.status = 500
    with time_machine.travel(NOW, tick=False):
        owed = owe(endpoint)
        delivery.deliver(owed.pk)
    owed.refresh_from_db()
    assert (owed.status, owed.last_status_code) == ("pending", 500)
    assert owed.next_attempt_at == NOW + dt.timedelta(minutes=1)
    waits = []
    now = NOW
    while owed.status == Delivery.Status.PENDING:
        with time_machine.travel(owed.next_attempt_at - dt.timedelta(seconds=1), tick=False):
            assert delivery.deliver(owed.pk) is None  # not before its time
        now = owed.next_attempt_at
        with time_machine.travel(now, tick=False):
            delivery.deliver(owed.pk)
        previous = now
        owed.refresh_from_db()
        if owed.status == Delivery.Status.PENDING:
            waits.append(owed.next_attempt_at - previous)

    assert waits[:5] == [
        dt.timedelta(minutes=5), dt.timedelta(minutes=30), dt.timedelta(hours=2),
        dt.timedelta(hours=6), dt.timedelta(hours=12),
    ]  # fmt: skip
    assert owed.status == Delivery.Status.FAILED
    assert now <= NOW + dt.timedelta(days=3)
    assert len(receiver.requests) == owed.attempts


def test_an_endpoint_failing_for_three_days_is_disabled_and_its_owners_told(
    endpoint, receiver, alice, inbox
):
    receiver.status = 503
    for hours in (0, 24, 48, 72):
        with time_machine.travel(NOW + dt.timedelta(hours=hours), tick=False):
            delivery.deliver(owe(endpoint, f"invoice.paid:{hours}").pk)

    endpoint.refresh_from_db()
    assert endpoint.status == Endpoint.Status.DISABLED
    assert "failed since 2026-12-07 09:00" in endpoint.status_detail
    [email] = inbox.to(alice.email)
    assert endpoint.url in email.get_content()
    # A disabled endpoint is sent nothing more, but a person may still replay to it.
    with time_machine.travel(NOW + dt.timedelta(hours=73), tick=False):
        sent = delivery.deliver(owe(endpoint, "invoice.paid:late").pk)
    assert sent.attempts == 0 and len(receiver.requests) == 4


def test_one_success_clears_the_failing_streak(endpoint, receiver):
    receiver.status = 500
    with time_machine.travel(NOW, tick=False):
        delivery.deliver(owe(endpoint, "a").pk)
    receiver.status = 204
    with time_machine.travel(NOW + dt.timedelta(days=2), tick=False):
        delivery.deliver(owe(endpoint, "b").pk)
    receiver.status = 500
    with time_machine.travel(NOW + dt.timedelta(days=3, hours=1), tick=False):
        delivery.deliver(owe(endpoint, "c").pk)

    endpoint.refresh_from_db()
    assert endpoint.is_active


def test_while_a_rotated_secret_overlaps_both_sign(endpoint, receiver):
    old = endpoint.secret
    with time_machine.travel(NOW, tick=False):
        new = endpoint.rotate(overlap=dt.timedelta(hours=24))
        delivery.deliver(owe(endpoint, "during").pk)
    with time_machine.travel(NOW + dt.timedelta(hours=25), tick=False):
        delivery.deliver(owe(endpoint, "after").pk)

    during, after = receiver.requests
    assert check(during.body, during.headers["Arbridge-Signature"], old)
    assert check(during.body, during.headers["Arbridge-Signature"], new)
    assert not check(after.body, after.headers["Arbridge-Signature"], old)
    assert check(after.body, after.headers["Arbridge-Signature"], new)


@pytest.mark.parametrize(
    ("url", "addresses"),
    [
        ("http://127.0.0.1:8080/hook", ["127.0.0.1"]),
        ("http://169.254.169.254/latest/meta-data/", ["169.254.169.254"]),
        ("https://hooks.partner.example/in", ["10.1.2.3"]),
        ("https://both.partner.example/in", ["93.184.215.14", "192.168.0.7"]),
        ("http://[::1]/hook", ["::1"]),
    ],
)
def test_a_private_destination_is_refused_when_sending(settings, endpoint, url, addresses):
    settings.HOOKS_ALLOW_PRIVATE = False  # as in production
    Endpoint.objects.filter(pk=endpoint.pk).update(url=url)

    def dns(host, port):  # the outer edge: what the name resolves to today
        return addresses

    sent = delivery.deliver(owe(endpoint).pk, resolver=dns)

    assert sent.status == Delivery.Status.PENDING and sent.last_status_code is None
    assert "not a public address" in sent.last_error
    assert sent.attempt_log.get().error == sent.last_error


@pytest.mark.parametrize(("env", "allowed"), [("production", "False"), ("", "True")])
def test_production_never_allows_private_destinations_whatever_the_setting(tmp_path, env, allowed):
    keys = {"ARBRIDGE_SECRET_KEY": "s" * 50, "ARBRIDGE_ENCRYPTION_KEY": Fernet.generate_key()}
    result = run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print(settings.HOOKS_ALLOW_PRIVATE)",
        ],
        tmp_path,
        ARBRIDGE_ENV=env,
        ARBRIDGE_WEBHOOKS_ALLOW_PRIVATE="True",
        **keys,
    )

    assert result.stdout.strip() == allowed, result.stderr


def test_a_redirect_is_a_failure_not_followed(endpoint, receiver):
    receiver.status = 302

    sent = delivery.deliver(owe(endpoint).pk)

    assert (sent.status, sent.last_error) == ("pending", "HTTP 302")
    assert len(receiver.requests) == 1
