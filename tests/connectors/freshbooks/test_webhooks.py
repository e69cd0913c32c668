"""FreshBooks callbacks: registered once, verified by the handshake, signed, forged ones refused."""

from urllib.parse import urlencode

import httpx
import pytest

from arbridge.connectors.base import MalformedRecord, WebhookRequest
from arbridge.connectors.freshbooks.webhooks import SIGNATURE_HEADER, signature
from arbridge.sandbox.freshbooks import create_app
from tests.connectors.freshbooks.books import Books, connect

URL = "http://arbridge.test/webhooks/freshbooks/7"


class Arbridge:
    """arbridge's end of the callbacks: keeps what was posted to it."""

    def __init__(self) -> None:
        self.posted: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.posted.append(request)
        return httpx.Response(200)

    def take(self) -> list[httpx.Request]:
        posted, self.posted = self.posted, []
        return posted


@pytest.fixture
def arbridge() -> Arbridge:
    return Arbridge()


@pytest.fixture
def sandbox(arbridge):
    return create_app(
        requests_per_minute=1_000_000,
        webhook_interval=None,
        http=httpx.Client(transport=httpx.MockTransport(arbridge)),
    )


@pytest.fixture
def account(sandbox) -> str:
    return sandbox.store.add_account(name="Acme IT")


def arrived(request: httpx.Request, **headers: str) -> WebhookRequest:
    return WebhookRequest({**dict(request.headers), **headers}, request.content)


def verified(sandbox, account, arbridge) -> dict[str, str]:
    """Subscribe and answer the verifications; return the credentials they taught."""
    connector = connect(sandbox, account)
    connector.subscribe(URL)
    sandbox.flush_webhooks()
    learned: dict[str, str] = {}
    for request in arbridge.take():
        delivery = connector.receive(arrived(request))
        assert delivery.accepted and not delivery.hints
        learned.update(delivery.credentials)
    return learned


def test_subscribing_registers_each_event_once(sandbox, account):
    connector = connect(sandbox, account)

    made = connector.subscribe(URL)
    again = connector.subscribe(URL)

    callbacks = sandbox.store.accounts[account].callbacks.values()
    assert len(made) == 3 and again == []
    assert sorted(c["event"] for c in callbacks) == ["client", "invoice", "payment"]
    assert not any(c["verified"] for c in callbacks)


def test_the_verifier_sent_to_the_callback_is_put_back_and_kept(sandbox, account, arbridge):
    learned = verified(sandbox, account, arbridge)

    callbacks = sandbox.store.accounts[account].callbacks
    assert all(c["verified"] for c in callbacks.values())
    assert learned == {
        f"webhook_verifier:{id}": sandbox.store.accounts[account].verifiers[id] for id in callbacks
    }


def test_a_forged_verification_is_refused(sandbox, account, arbridge):
    connector = connect(sandbox, account)
    [callback_id, *_] = connector.subscribe(URL)
    fields = {"name": "callback.verify", "object_id": callback_id, "verifier": "guessed"}
    body = urlencode({**fields, "account_id": account}).encode()

    delivery = connector.receive(WebhookRequest({}, body))

    assert not delivery.accepted and not delivery.credentials
    assert not sandbox.store.accounts[account].callbacks[int(callback_id)]["verified"]


def test_a_signed_change_is_a_hint_and_a_forged_one_is_refused(sandbox, account, arbridge):
    learned = verified(sandbox, account, arbridge)
    books = Books(sandbox, account)
    connector = connect(sandbox, account, credentials=learned)
    invoice = books.invoice(books.client("Globex"), "80.00")
    sandbox.flush_webhooks()
    posted = arbridge.take()

    deliveries = [connector.receive(arrived(request)) for request in posted]
    forged = connector.receive(arrived(posted[-1], **{SIGNATURE_HEADER: "AAAA"}))
    unsigned = connector.receive(WebhookRequest({}, posted[-1].content))

    hinted = {(h.entity, h.remote_id) for d in deliveries for h in d.hints}
    assert all(d.accepted for d in deliveries)
    assert ("invoice", str(invoice["id"])) in hinted and (
        "customer",
        str(invoice["customerid"]),
    ) in hinted
    assert not forged.accepted and not forged.hints
    assert not unsigned.accepted


def test_a_delivery_signed_for_another_account_is_refused(sandbox, account, arbridge):
    learned = verified(sandbox, account, arbridge)
    connector = connect(sandbox, account, credentials=learned)
    fields = {"name": "invoice.update", "object_id": "1", "account_id": "other"}
    verifier = next(iter(learned.values()))

    delivery = connector.receive(
        WebhookRequest({SIGNATURE_HEADER: signature(verifier, fields)}, urlencode(fields).encode())
    )

    assert not delivery.accepted


def test_a_body_that_is_not_a_callback_form_is_malformed(sandbox, account):
    with pytest.raises(MalformedRecord):
        connect(sandbox, account).receive(WebhookRequest({}, b'{"events": []}'))


def test_a_hinted_deleted_invoice_is_read_as_a_delete(sandbox, account):
    books = Books(sandbox, account)
    invoice = books.invoice(books.client("Globex"), "80.00")
    books.delete_invoice(invoice["id"])

    [change] = connect(sandbox, account).fetch("invoice", [str(invoice["id"])])

    assert (change.entity, change.op) == ("invoice", "delete")
