"""Callbacks: registered per type, delivered on changes, signed with a key at key_url."""

import json

import httpx
import pytest

from arbridge.connectors.connectwise.callbacks import is_signed_with
from arbridge.sandbox.connectwise import create_app
from tests.sandbox.connectwise.api import CW, control


@pytest.fixture
def deliveries() -> list[httpx.Request]:
    return []


@pytest.fixture
def sandbox(clock, deliveries):
    def receive(request: httpx.Request) -> httpx.Response:
        deliveries.append(request)
        return httpx.Response(200)

    return create_app(clock=clock, http=httpx.Client(transport=httpx.MockTransport(receive)))


def test_it_registers_lists_and_deletes_callbacks(cw: CW):
    callback = cw.post(
        "/system/callbacks",
        {"url": "https://arbridge.test/cb", "objectId": 1, "type": "invoice", "level": "owner"},
    )

    assert [row["id"] for row in cw.get("/system/callbacks")] == [callback["id"]]
    assert cw.delete(f"/system/callbacks/{callback['id']}").status_code == 204
    assert cw.get("/system/callbacks") == []


def test_a_callback_without_its_required_fields_is_refused(cw: CW):
    response = cw.api.post("/system/callbacks", json={"url": "https://arbridge.test/cb"})

    assert response.status_code == 400


def test_a_change_is_delivered_signed(cw: CW, sandbox, deliveries):
    cw.post(
        "/system/callbacks",
        {"url": "https://arbridge.test/cb", "objectId": 1, "type": "invoice", "level": "owner"},
    )
    company = cw.company("Bluebird Dental")  # no company callback: nothing sent

    invoice = cw.invoice(company, "10.00")

    [delivery] = deliveries
    body = json.loads(delivery.content)
    assert (body["Type"], body["Action"], body["ID"]) == ("invoice", "added", invoice["id"])
    key_url = httpx.URL(body["Metadata"]["key_url"])
    key = control(sandbox).get(key_url.raw_path.decode()).json()["signing_key"]
    assert is_signed_with(key, delivery.headers, delivery.content)
    assert not is_signed_with("another key", delivery.headers, delivery.content)
