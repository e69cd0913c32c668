"""Xero webhooks: signatures checked, forgeries refused, the intent to receive passed."""

import base64
import hashlib
import hmac
import json

import httpx
import pytest

from arbridge.connectors.xero.webhooks import is_intent_to_receive, parse, status, verify
from arbridge.sandbox.xero import create_app
from arbridge.sandbox.xero.webhooks import Notifier
from tests.connectors.xero.books import Books, connect

KEY = "webhook-key-from-the-xero-app"
URL = "http://arbridge.test/webhooks/xero"


def signed(body: bytes, key: str = KEY) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def delivery(*events: dict) -> bytes:
    return json.dumps(
        {
            "events": list(events),
            "firstEventSequence": 1,
            "lastEventSequence": max(1, len(events)),
            "entropy": "FXNGWLCCGVANWHKILRUB",
        }
    ).encode()


def event(category: str, id: str, kind: str = "UPDATE") -> dict:
    return {
        "resourceUrl": f"https://api.xero.com/api.xro/2.0/{category.title()}s/{id}",
        "resourceId": id,
        "tenantId": "aef86862-2015-4b6b-88bc-d89032cecc50",
        "tenantType": "ORGANISATION",
        "eventCategory": category,
        "eventType": kind,
        "eventDateUtc": "2026-03-02T17:00:09.923",
    }


def test_a_signed_delivery_is_verified():
    body = delivery(event("INVOICE", "d4956132-ed94-4dd7-9eaa-aa22dfdf06f2"))

    assert verify(body, signed(body), KEY)
    assert status(body, signed(body), KEY) == 200


@pytest.mark.parametrize(
    "forge",
    [
        lambda body: (body, signed(body, "another-key")),
        lambda body: (body.replace(b"UPDATE", b"CREATE"), signed(body)),
        lambda body: (body, ""),
        lambda body: (body, "not base64 at all"),
    ],
    ids=["wrong key", "tampered body", "no signature", "garbage"],
)
def test_a_forged_delivery_is_refused(forge):
    body, signature = forge(delivery(event("INVOICE", "d4956132-ed94-4dd7-9eaa-aa22dfdf06f2")))

    assert not verify(body, signature, KEY)
    assert status(body, signature, KEY) == 401


def test_no_key_verifies_nothing():
    body = delivery()
    assert not verify(body, signed(body, ""), "")


def test_hints_name_invoices_and_customers_and_nothing_else():
    body = delivery(
        event("INVOICE", "d4956132-ed94-4dd7-9eaa-aa22dfdf06f2", "CREATE"),
        event("CONTACT", "55d84274-a3da-4829-a7c0-0cab601b95cc"),
        event("CREDITNOTE", "6cf1b4cd-6a6b-4f1c-8d5a-1d2b6b3b1111"),
        {**event("SUBSCRIPTION", "7a1b"), "tenantType": "APPLICATION"},
    )

    hints = parse(body)

    assert [(h.entity, h.remote_id, h.event_type) for h in hints] == [
        ("invoice", "d4956132-ed94-4dd7-9eaa-aa22dfdf06f2", "CREATE"),
        ("customer", "55d84274-a3da-4829-a7c0-0cab601b95cc", "UPDATE"),
    ]
    assert {h.tenant_id for h in hints} == {"aef86862-2015-4b6b-88bc-d89032cecc50"}
    assert hints[0].occurred_at.year == 2026
    # A redelivery of the same event has the same id; another event has another.
    assert parse(body)[0].event_id == hints[0].event_id != hints[1].event_id


def test_a_body_that_is_not_a_delivery_is_a_value_error():
    with pytest.raises(ValueError):
        parse(b'{"eventNotifications": []}')


def receiver(key: str):
    """arbridge's endpoint as the Django view will answer: status() and an empty body."""
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = request.content
        return httpx.Response(status(body, request.headers.get("x-xero-signature", ""), key))

    return answer, seen


def test_the_intent_to_receive_passes_with_the_right_answers():
    answer, seen = receiver(KEY)
    notifier = Notifier(
        URL, KEY, interval=None, http=httpx.Client(transport=httpx.MockTransport(answer))
    )

    assert notifier.intent_to_receive()
    assert notifier.status == "OK"
    assert len(seen) == 4 and all(is_intent_to_receive(r.content) for r in seen)


def test_the_intent_to_receive_fails_an_endpoint_that_takes_anything():
    always = httpx.MockTransport(lambda request: httpx.Response(200))
    notifier = Notifier(URL, KEY, interval=None, http=httpx.Client(transport=always))

    assert not notifier.intent_to_receive()
    assert notifier.status == "failed"


def test_the_intent_to_receive_fails_an_answer_with_a_body():
    def chatty(request):
        code = status(request.content, request.headers["x-xero-signature"], KEY)
        return httpx.Response(code, json={"ok": code == 200})

    notifier = Notifier(
        URL, KEY, interval=None, http=httpx.Client(transport=httpx.MockTransport(chatty))
    )

    assert not notifier.intent_to_receive()


def test_changes_in_xero_are_delivered_signed_and_lead_to_the_records():
    answer, seen = receiver(KEY)
    app = create_app(
        webhook_url=URL,
        webhook_key=KEY,
        webhook_interval=None,
        http=httpx.Client(transport=httpx.MockTransport(answer)),
        requests_per_minute=1_000_000,
    )
    tenant = app.store.add_org(name="Acme IT")
    books = Books(app, tenant)
    client = books.contact("Bluebird Dental", "ap@bluebird.example")
    invoice = books.invoice(client, "100.00")
    books.pay(invoice, "100.00")  # Xero sends no payment events; the invoice changes

    assert app.flush_webhooks() == 1
    (request,) = seen
    assert verify(request.content, request.headers["x-xero-signature"], KEY)
    hints = parse(request.content)
    assert {(h.entity, h.remote_id) for h in hints} == {
        ("customer", client["ContactID"]),
        ("invoice", invoice["InvoiceID"]),
    }
    connector = connect(app, tenant)
    fetched = [
        c for h in hints if h.entity == "invoice" for c in connector.fetch(h.entity, [h.remote_id])
    ]
    assert fetched[0].record.balance == 0
