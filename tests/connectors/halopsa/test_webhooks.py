"""HaloPSA webhooks: every delivery's credentials checked, its hints read, the records fetched."""

import base64
import json

import httpx
import pytest
from pydantic import ValidationError

from arbridge.connectors.base import MalformedRecord, Op
from arbridge.connectors.halopsa import (
    HaloPSA,
    Preferences,
    WebhookAuth,
    parse_webhook,
    verify_webhook,
)
from arbridge.sandbox.halopsa import create_app
from tests.connectors.halopsa.conftest import connect
from tests.sandbox.halopsa.api import Halo

BASIC = {"webhook_auth": {"kind": "basic", "username": "halo", "password": "s3cret-pass"}}
HEADER = {"webhook_auth": {"kind": "header", "header": "X-Halo-Secret", "value": "abc123"}}


def basic(username: str, password: str) -> dict[str, str]:
    return {
        "Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    }


def test_basic_credentials_are_accepted_only_when_they_match():
    assert verify_webhook(basic("halo", "s3cret-pass"), BASIC)
    assert not verify_webhook(basic("halo", "s3cret-pas"), BASIC)
    assert not verify_webhook(basic("someone", "s3cret-pass"), BASIC)
    assert not verify_webhook({"Authorization": "Bearer s3cret-pass"}, BASIC)
    assert not verify_webhook({"Authorization": "Basic not-base64!"}, BASIC)
    assert not verify_webhook({}, BASIC)


def test_a_secret_header_is_accepted_only_when_it_matches():
    assert verify_webhook({"x-halo-secret": "abc123"}, HEADER)  # header names ignore case
    assert not verify_webhook({"X-Halo-Secret": "abc124"}, HEADER)
    assert not verify_webhook({"X-Other": "abc123"}, HEADER)
    assert not verify_webhook(basic("halo", "abc123"), HEADER)


def test_nothing_is_accepted_when_nothing_is_configured():
    assert not verify_webhook(basic("halo", "s3cret-pass"), {})
    assert not verify_webhook({"X-Halo-Secret": ""}, {"webhook_auth": {"kind": "header"}})


def test_an_auth_without_its_secret_is_refused():
    with pytest.raises(ValidationError):
        WebhookAuth.model_validate({"kind": "basic", "username": "halo"})
    with pytest.raises(ValidationError):
        WebhookAuth.model_validate({"kind": "hmac", "value": "x"})
    unfinished = {"webhook_auth": {"kind": "basic", "username": "halo"}}
    assert not verify_webhook(basic("halo", ""), unfinished)


def test_preferences_hold_no_webhook_secret():
    assert "webhook_auth" not in Preferences.model_fields
    with pytest.raises(ValidationError):
        Preferences.model_validate(HEADER)


def test_a_delivery_is_read_as_hints():
    body = json.dumps(
        [
            {"id": "e1", "event": "Invoice Updated", "object_type": "Invoice", "object_id": 42,
             "timestamp": "2026-03-02T17:00:00.000"},
            {"id": "e2", "event": "Client Deleted", "object_type": "Client", "object_id": 7},
            {"id": "e3", "event": "User Created", "object_type": "User", "object_id": 9},
            {"id": "e4", "event": "Contract Updated", "object_type": "Contract", "object_id": 3},
        ]
    )  # fmt: skip

    hints = parse_webhook(body)

    assert [(h.entity, h.remote_id, h.action, h.event_id) for h in hints] == [
        ("invoice", "42", "updated", "e1"),
        ("customer", "7", "deleted", "e2"),
        ("contact", "9", "created", "e3"),
    ]
    assert hints[0].occurred_at.isoformat() == "2026-03-02T17:00:00+00:00"


def test_one_event_on_its_own_is_a_delivery_too():
    body = b'{"id": "e1", "event": "Invoice Created", "object_type": "Invoice", "object_id": 1}'

    assert [hint.remote_id for hint in parse_webhook(body)] == ["1"]


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'[{"object_type": "Invoice"}]'])
def test_what_is_not_a_delivery_is_malformed(body):
    with pytest.raises(MalformedRecord):
        parse_webhook(body)


def test_a_real_delivery_checks_out_and_leads_to_the_records(clock):
    deliveries: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        deliveries.append(request)
        return httpx.Response(200)

    sandbox = create_app(
        clock=clock,
        webhook_interval=None,
        http=httpx.Client(transport=httpx.MockTransport(receive)),
    )
    halo = Halo(sandbox)
    halo.post(
        "Webhook",
        {"url": "https://arbridge.example/hooks/halopsa/1", "authentication_type": 3,
         "authentication_header": "X-Halo-Secret: abc123"},
    )  # fmt: skip
    client = halo.client("Bluebird Dental")
    invoice = halo.invoice(client, ("Labor", 1, "165.00"))
    halo.delete(f"Invoice/{halo.invoice(client)['id']}")
    sandbox.flush_webhooks()
    connector: HaloPSA = connect(sandbox)

    [delivery] = deliveries
    assert verify_webhook(delivery.headers, HEADER)
    hints = parse_webhook(delivery.content)
    changes = [
        change for hint in hints for change in connector.fetch(hint.entity, [hint.remote_id])
    ]

    assert [(c.entity, c.remote_id, c.op) for c in changes] == [
        ("customer", str(client["id"]), Op.UPSERT),
        ("invoice", str(invoice["id"]), Op.UPSERT),
        ("invoice", "2", Op.DELETE),
        ("invoice", "2", Op.DELETE),
    ]
