"""Outbound webhooks: batches of changes, authenticated as configured, none for old invoices."""

import base64
import json

import httpx
import pytest

from arbridge.sandbox.halopsa import create_app
from tests.sandbox.halopsa.api import Halo, control

HOOK = "https://arbridge.example/webhooks/halopsa/7"


class Receiver:
    """The far end of a webhook: records what arrives, answers with `status`."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.status = 200

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status)

    def events(self) -> list[dict]:
        return [event for request in self.requests for event in json.loads(request.content)]


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def sandbox(clock, receiver):
    http = httpx.Client(transport=httpx.MockTransport(receiver))
    return create_app(clock=clock, webhook_interval=None, http=http)


def basic_hook(halo: Halo, **fields) -> dict:
    return halo.post(
        "Webhook",
        {
            "name": "arbridge",
            "url": HOOK,
            "authentication_type": 1,
            "basic_username": "halo",
            "basic_password": "s3cret-pass",
            **fields,
        },
    )


def test_changes_are_posted_in_a_batch_with_basic_credentials(sandbox, halo, receiver):
    basic_hook(halo)
    client = halo.client("Bluebird Dental")
    halo.user(client, "Ava Chen", "ava@bluebird.example", billing=True)
    halo.delete(f"Users/{1}")

    assert sandbox.flush_webhooks() == 1

    [request] = receiver.requests
    assert str(request.url) == HOOK
    assert (
        request.headers["Authorization"]
        == "Basic " + base64.b64encode(b"halo:s3cret-pass").decode()
    )
    events = receiver.events()
    assert [(e["event"], e["object_type"], e["object_id"]) for e in events] == [
        ("Client Created", "Client", client["id"]),
        ("User Created", "User", 1),
        ("User Deleted", "User", 1),
    ]
    assert len({e["id"] for e in events}) == 3


def test_a_header_webhook_sends_its_secret_header(sandbox, halo, receiver):
    halo.post(
        "Webhook",
        {"url": HOOK, "authentication_type": 3, "authentication_header": "X-Halo-Secret: abc123"},
    )
    halo.client("Bluebird Dental")

    sandbox.flush_webhooks()

    assert receiver.requests[0].headers["X-Halo-Secret"] == "abc123"
    assert "Authorization" not in receiver.requests[0].headers


def test_secrets_are_never_read_back(halo):
    hook = basic_hook(halo)
    halo.post(
        "Webhook",
        {"url": HOOK, "authentication_type": 3, "authentication_header": "X-Halo-Secret: abc123"},
    )

    shown = halo.get("Webhook")

    assert hook["basic_password"] == ""
    assert [h.get("basic_password", "") for h in shown] == ["", ""]
    assert shown[1]["authentication_header"] == "X-Halo-Secret: "


def test_a_header_webhook_needs_a_name_and_a_value(halo):
    response = halo.send("Webhook", {"url": HOOK, "authentication_type": 3})

    assert response.status_code == 400


def test_instances_before_2_122_1_send_no_invoice_events(sandbox, halo, receiver):
    control(sandbox).put("/_sandbox/tenants/sandbox", json={"version": "2.121.9"})
    basic_hook(halo)
    client = halo.client("Bluebird Dental")
    halo.invoice(client)

    sandbox.flush_webhooks()

    assert [e["event"] for e in receiver.events()] == ["Client Created"]


def test_instances_from_2_122_1_send_invoice_events(sandbox, halo, receiver):
    control(sandbox).put("/_sandbox/tenants/sandbox", json={"version": "2.122.1"})
    basic_hook(halo)
    invoice = halo.invoice(None)
    halo.pay(invoice, "10.00")

    sandbox.flush_webhooks()

    assert [e["event"] for e in receiver.events()] == ["Invoice Created", "Invoice Updated"]


def test_a_failed_delivery_is_sent_again_with_the_next(sandbox, halo, receiver):
    basic_hook(halo)
    receiver.status = 503
    halo.client("Bluebird Dental")
    assert sandbox.flush_webhooks() == 0

    receiver.status = 200
    halo.client("Cedar Law")
    assert sandbox.flush_webhooks() == 1

    assert [e["object_id"] for e in json.loads(receiver.requests[-1].content)] == [1, 2]


def test_a_webhook_failing_ten_times_in_a_row_is_disabled(sandbox, halo, receiver):
    hook = basic_hook(halo)
    receiver.status = 500
    halo.client("Bluebird Dental")
    for _ in range(10):
        sandbox.flush_webhooks()

    assert halo.get(f"Webhook/{hook['id']}")["disabled"] is True
    halo.client("Cedar Law")
    sandbox.flush_webhooks()
    assert len(receiver.requests) == 10


def test_without_a_webhook_nothing_is_sent(sandbox, halo, receiver):
    halo.client("Bluebird Dental")

    assert sandbox.flush_webhooks() == 0
    assert receiver.requests == []
