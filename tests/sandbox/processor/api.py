"""A merchant using one sandbox processor account through its API, as arbridge would."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from decimal import Decimal
from typing import Any

import httpx
from werkzeug.wrappers import Request, Response

from arbridge.sandbox.common.wire import loads
from arbridge.sandbox.processor import ProcessorSandbox

BASE_URL = "http://processor.test"
KEYS = itertools.count(1)
# The test cards' fields other than the number.
CARD = {"expiry": "12/30", "cvc": "123", "postal_code": "94107"}
BANK = {"routing_number": "110000000", "account_holder_name": "Summit Dental", "mandate": True}


class Receiver:
    """A webhook endpoint: keeps each delivery, answers a chosen status."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.status = 200

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.deliveries.append((dict(request.headers), request.get_data()))
        return Response(status=self.status)(environ, start_response)

    def events(self) -> list[dict]:
        return [json.loads(body) for _, body in self.deliveries]


def control(sandbox: ProcessorSandbox) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=sandbox), base_url=BASE_URL)


class Merchant:
    """One account's API: JSON with Decimal amounts, its key on every call."""

    def __init__(self, sandbox: ProcessorSandbox, **settings: Any):
        self.control = control(sandbox)
        answer = self.control.post("/_sandbox/accounts", json={"name": "Acme IT", **settings})
        assert answer.status_code == 201, answer.text
        self.account = answer.json()
        self.http = httpx.Client(
            transport=httpx.WSGITransport(app=sandbox),
            base_url=BASE_URL,
            headers={"Authorization": f"Bearer {self.account['api_key']}"},
        )

    def post(self, path: str, body: dict | None = None, key: str | None = None) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return self.http.post(path, json=body, headers=headers)

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        assert response.status_code == 200, response.text
        return loads(response.content)

    def token(self, number: str = "4242424242424242", **fields: Any) -> str:
        """Tokenize a test card, or a test bank account with `account_number=`."""
        if "account_number" in fields:
            body = {"kind": "ach", **BANK, **fields}
        else:
            body = {"kind": "card", "number": number, **CARD, **fields}
        response = self.post("/v1/tokens", body)
        assert response.status_code == 200, response.text
        return response.json()["id"]

    def pay(self, method: str, amount: str = "100.00", **fields: Any) -> httpx.Response:
        """Charge a method under a new idempotency key; return the raw answer."""
        body = {"amount": amount, "currency": "usd", "method": method, **fields}
        return self.post("/v1/payments", body, key=f"pay-{next(KEYS)}")

    def paid(self, method: str, amount: str = "100.00", **fields: Any) -> dict:
        """Charge a method and return the payment, whatever became of it."""
        response = self.pay(method, amount, **fields)
        body = loads(response.content)
        assert response.status_code in (200, 402), response.text
        return body if response.status_code == 200 else body["error"]["payment"]

    def payment(self, id: str) -> dict:
        return self.get(f"/v1/payments/{id}")

    def events(self, after: str = "") -> list[dict]:
        return self.get("/v1/events", after=after, limit=1000)["data"]

    def kinds(self) -> list[tuple[str, str]]:
        """Return each event's type and the id of the record it is about."""
        return [
            (e["type"], e["data"]["object"].get("payment") or e["data"]["object"]["id"])
            for e in self.events()
        ]

    def payouts(self, since: str = "2000-01-01") -> list[dict]:
        return self.get("/v1/payouts", since=since)["data"]

    def receive(self, amount: str, memo: str) -> dict:
        response = self.control.post(
            f"/_sandbox/accounts/{self.account['id']}/funds",
            json={"amount": amount, "currency": "USD", "memo": memo, "sender": "Summit Dental"},
        )
        assert response.status_code == 201, response.text
        return response.json()


def total(*amounts: Any) -> Decimal:
    return sum((Decimal(str(amount)) for amount in amounts), Decimal("0.00"))


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)
