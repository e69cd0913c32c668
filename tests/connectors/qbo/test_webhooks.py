"""QuickBooks webhook deliveries, as the sandbox sends them: signatures and hints."""

import datetime as dt
import json

import httpx
import pytest

from arbridge.connectors.qbo.webhooks import parse_notifications, verify_signature
from arbridge.sandbox.qbo import Store, create_app
from arbridge.sandbox.qbo.app import VERIFIER_TOKEN
from tests.connectors.qbo.books import Books

T0 = dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC)


class Receiver:
    """arbridge's webhook endpoint, as the sandbox sees it: it keeps what it is sent."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.deliveries: list[httpx.Request] = []
        self.http = httpx.Client(transport=httpx.MockTransport(self.receive))

    def receive(self, request: httpx.Request) -> httpx.Response:
        self.deliveries.append(request)
        return httpx.Response(self.status)


def sandbox(receiver: Receiver, format: str = "cloudevents", store: Store | None = None):
    return create_app(
        store,
        webhook_url="http://arbridge.test/webhooks/qbo",
        webhook_format=format,
        webhook_interval=None,
        http=receiver.http,
        requests_per_minute=1_000_000,
    )


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.mark.parametrize("format", ["cloudevents", "legacy"])
def test_a_delivery_names_each_object_that_changed(receiver, format, time_machine):
    time_machine.move_to(T0, tick=False)
    app = sandbox(receiver, format)
    realm = app.store.add_realm()
    books = Books(app, realm)
    invoice = books.invoice(books.customer("Bluebird Dental"), "100.00")
    books.void("Invoice", invoice["Id"])
    app.flush_webhooks()

    [delivery] = receiver.deliveries
    hints = parse_notifications(delivery.content)

    assert [(h.entity, h.operation) for h in hints] == [
        ("Customer", "Create"),
        ("Invoice", "Create"),
        ("Invoice", "Void"),
    ]
    assert {h.realm for h in hints} == {realm}
    assert hints[1].id == invoice["Id"]
    assert hints[1].updated_at == T0


def test_the_same_change_has_the_same_key_in_either_format(time_machine):
    time_machine.move_to(T0, tick=False)
    store, cloud, legacy = Store(), Receiver(), Receiver()
    apps = [sandbox(cloud, "cloudevents", store), sandbox(legacy, "legacy", store)]
    books = Books(apps[0], store.add_realm())
    books.invoice(books.customer("Bluebird Dental"), "100.00")
    for app in apps:
        app.flush_webhooks()

    keys = [
        [hint.event_id for hint in parse_notifications(receiver.deliveries[0].content)]
        for receiver in (cloud, legacy)
    ]

    assert keys[0] == keys[1]
    assert len(set(keys[0])) == 2


def test_a_redelivery_has_the_same_keys(time_machine):
    time_machine.move_to(T0, tick=False)
    receiver = Receiver(status=503)
    app = sandbox(receiver)
    books = Books(app, app.store.add_realm())
    books.customer("Bluebird Dental")
    app.flush_webhooks()
    receiver.status = 200
    app.flush_webhooks()

    first, again = (parse_notifications(d.content) for d in receiver.deliveries)

    assert [hint.event_id for hint in first] == [hint.event_id for hint in again]


def test_a_signature_is_checked_against_the_raw_body(receiver):
    app = sandbox(receiver)
    books = Books(app, app.store.add_realm())
    books.customer("Bluebird Dental")
    app.flush_webhooks()
    [delivery] = receiver.deliveries
    body, signature = delivery.content, delivery.headers["intuit-signature"]

    assert verify_signature(body, signature, VERIFIER_TOKEN)
    assert not verify_signature(body + b" ", signature, VERIFIER_TOKEN)
    assert not verify_signature(body, signature, "another app's verifier token")
    assert not verify_signature(body, "", VERIFIER_TOKEN)


@pytest.mark.parametrize(
    "body",
    [
        {"hello": "world"},
        [{"type": "com.example.thing.v1", "intuitaccountid": "1", "intuitentityid": "2"}],
    ],
)
def test_a_body_that_is_not_a_notification_is_refused(body):
    with pytest.raises(ValueError):
        parse_notifications(json.dumps(body).encode())
