"""Webhooks in both payload formats, signed with intuit-signature."""

import base64
import hashlib
import hmac
import json

import httpx
import pytest
from werkzeug.wrappers import Request, Response

from arbridge.sandbox.qbo import create_app
from tests.sandbox.qbo.api import connect

VERIFIER = "verifier-token-from-the-developer-portal"


class Receiver:
    """The app's webhook endpoint: keeps what arrives, answers a chosen status."""

    def __init__(self):
        self.deliveries: list[tuple[dict, bytes]] = []
        self.status = 200

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.deliveries.append((dict(request.headers), request.get_data()))
        return Response(status=self.status)(environ, start_response)

    def payloads(self) -> list:
        return [json.loads(body) for _, body in self.deliveries]


def verifies(headers: dict, body: bytes) -> bool:
    expected = base64.b64encode(hmac.new(VERIFIER.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected.decode(), headers["Intuit-Signature"])


@pytest.fixture
def receiver():
    return Receiver()


def listening(receiver, format):
    http = httpx.Client(transport=httpx.WSGITransport(app=receiver))
    sandbox = create_app(
        webhook_url="https://arbridge.example/webhooks/qbo",
        webhook_format=format,
        webhook_interval=None,
        verifier_token=VERIFIER,
        http=http,
    )
    realm = sandbox.store.add_realm()
    return sandbox, realm, connect(sandbox, realm)


def test_changes_arrive_as_signed_cloudevents(receiver):
    sandbox, realm, qbo = listening(receiver, "cloudevents")
    customer = qbo.customer()
    invoice = qbo.invoice(customer, "100.00")
    qbo.write("Invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="void")

    assert sandbox.flush_webhooks() == 1

    [(headers, body)] = receiver.deliveries
    assert verifies(headers, body)
    events = json.loads(body)
    assert [(e["type"], e["intuitentityid"]) for e in events] == [
        ("qbo.customer.created.v1", customer["Id"]),
        ("qbo.invoice.created.v1", invoice["Id"]),
        ("qbo.invoice.voided.v1", invoice["Id"]),
    ]
    first = events[0]
    assert first["specversion"] == "1.0"
    assert first["intuitaccountid"] == realm
    assert first["source"].startswith("intuit.")
    assert first["datacontenttype"] == "application/json"
    assert first["time"].endswith("Z")
    assert first["data"] == {}
    assert len({e["id"] for e in events}) == 3


def test_changes_arrive_in_the_legacy_format(receiver):
    sandbox, realm, qbo = listening(receiver, "legacy")
    customer = qbo.customer()
    invoice = qbo.invoice(customer, "100.00")
    qbo.write("Invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="delete")

    sandbox.flush_webhooks()

    [(headers, body)] = receiver.deliveries
    assert verifies(headers, body)
    [notification] = json.loads(body)["eventNotifications"]
    assert notification["realmId"] == realm
    entities = notification["dataChangeEvent"]["entities"]
    assert [(e["name"], e["id"], e["operation"]) for e in entities] == [
        ("Customer", customer["Id"], "Create"),
        ("Invoice", invoice["Id"], "Create"),
        ("Invoice", invoice["Id"], "Delete"),
    ]
    assert all(e["lastUpdated"].endswith("Z") for e in entities)


def test_each_company_gets_its_own_batch(receiver):
    sandbox, realm, qbo = listening(receiver, "legacy")
    other = sandbox.store.add_realm()
    connect(sandbox, other).customer()
    qbo.customer()

    assert sandbox.flush_webhooks() == 2

    realms = [p["eventNotifications"][0]["realmId"] for p in receiver.payloads()]
    assert sorted(realms) == sorted([realm, other])


def test_nothing_is_sent_when_nothing_changed(receiver):
    sandbox, realm, qbo = listening(receiver, "cloudevents")
    qbo.query("SELECT * FROM Customer")

    assert sandbox.flush_webhooks() == 0
    assert receiver.deliveries == []


def test_a_failed_delivery_is_sent_again(receiver):
    sandbox, realm, qbo = listening(receiver, "cloudevents")
    qbo.customer()
    receiver.status = 500
    sandbox.flush_webhooks()

    receiver.status = 200
    qbo.customer("Harbor Law")
    sandbox.flush_webhooks()

    retried = receiver.payloads()[-1]
    assert [e["type"] for e in retried] == ["qbo.customer.created.v1"] * 2
    assert receiver.deliveries[0][1] != receiver.deliveries[1][1]


def test_the_timer_flushes_on_its_own(receiver):
    http = httpx.Client(transport=httpx.WSGITransport(app=receiver))
    sandbox = create_app(
        webhook_url="https://arbridge.example/hooks", webhook_interval=0.2, http=http
    )
    realm = sandbox.store.add_realm()
    connect(sandbox, realm).customer()

    timer = sandbox.notifier.timer
    if timer is not None:  # None: it has already fired.
        timer.join()

    assert len(receiver.deliveries) == 1


def test_a_payment_applied_to_an_invoice_also_notifies_the_invoice(receiver):
    sandbox, realm, qbo = listening(receiver, "cloudevents")
    customer = qbo.customer()
    paid = qbo.invoice(customer, "100.00")
    untouched = qbo.invoice(customer, "50.00")
    sandbox.flush_webhooks()
    receiver.deliveries.clear()

    payment = qbo.pay(customer, "40.00", ("Invoice", paid, "40.00"))

    assert sandbox.flush_webhooks() == 1
    [events] = receiver.payloads()
    assert [(e["type"], e["intuitentityid"]) for e in events] == [
        ("qbo.payment.created.v1", payment["Id"]),
        ("qbo.invoice.updated.v1", paid["Id"]),
    ]
    assert untouched["Id"] not in {e["intuitentityid"] for e in events}
