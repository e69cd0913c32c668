"""Stripe's outer edge for the tests: localstripe, and a fake built from Stripe's fixtures.

localstripe (a Stripe imitation on loopback) covers cards: PaymentIntents,
authentication, declines, refunds, SetupIntents, signed webhooks. It knows no
ACH, events list paging or payouts, so `FakeStripe` answers those with the
objects of Stripe's own OpenAPI fixtures (../shared/specs/stripe/fixtures3.json),
changed only in the fields a test sets. It keeps Stripe's documented
idempotency: a repeated Idempotency-Key gets the first answer back.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

# ../shared beside the checkout, as CI has it.
FIXTURES = Path(__file__).resolve().parents[3] / "shared/specs/stripe/fixtures3.json"
RESOURCES = json.loads(FIXTURES.read_text())["resources"]

SECRET_KEY = "sk_test_arbridge"
PUBLISHABLE_KEY = "pk_test_arbridge"
WEBHOOK_SECRET = "whsec_arbridge"

# localstripe refuses any parameter it does not model. These are documented
# PaymentIntent parameters (docs.stripe.com/api/payment_intents/create) that
# change nothing it simulates, so its launcher lets them through unread.
LOCALSTRIPE = """
import sys
from aiohttp import web
from localstripe import resources, server

resources.Store.dump_to_disk = lambda self: None  # keep the store in memory
create = resources.PaymentIntent._api_create.__func__

def _api_create(cls, description=None, return_url=None, setup_future_usage=None, **data):
    return create(cls, **data)

resources.PaymentIntent._api_create = classmethod(_api_create)
web.run_app(server.app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def localstripe() -> Iterator[str]:
    """Run localstripe on a loopback port; yield its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", LOCALSTRIPE, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(f"{url}/v1/customers", auth=(SECRET_KEY, ""), timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("localstripe did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def card(url: str, number: str) -> str:
    """Tokenize a test card as Stripe.js would in the customer's browser; return its id."""
    response = httpx.post(
        f"{url}/v1/payment_methods",
        auth=(SECRET_KEY, ""),
        data={
            "type": "card",
            "card[number]": number,
            "card[exp_month]": "12",
            "card[exp_year]": "2034",
            "card[cvc]": "123",
        },
    )
    response.raise_for_status()
    return response.json()["id"]


def sign(body: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Return a Stripe-Signature header: HMAC-SHA256 of "{t}.{body}" (DOMAIN.md, Stripe)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    payload = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def fixture(resource: str, **changes: Any) -> dict:
    """Return a copy of Stripe's fixture for a resource, with some fields changed."""
    obj = copy.deepcopy(RESOURCES[resource])
    obj.update(changes)
    return obj


def event(type_: str, obj: dict, created: int, **data: Any) -> dict:
    return fixture(
        "event",
        id=f"evt_{obj['id']}_{created}",
        type=type_,
        created=created,
        data={"object": obj, **data},
    )


class FakeStripe:
    """Stripe's API for ACH, events and payouts, on loopback, answering with fixtures."""

    def __init__(self) -> None:
        self.ids = itertools.count(1)
        self.methods: dict[str, dict] = {}
        self.intents: dict[str, dict] = {}
        self.declines: dict[str, str] = {}  # method id -> decline code
        self.redirects: dict[str, str] = {}  # method id -> 3-D Secure page
        self.events: list[dict] = []  # oldest first
        self.payouts: list[dict] = []
        self.transactions: dict[str, list[dict]] = {}  # payout id -> balance transactions
        self.answers: dict[str, tuple[int, dict]] = {}  # Idempotency-Key -> first answer
        self.posts: list[dict] = []  # each POST's form, as Stripe received it
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.port}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        self.server.shutdown()

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self.ids):06d}"

    # -- what a test puts in Stripe -------------------------------------------------

    def add_card(self, funding: str = "credit", brand: str = "visa", last4: str = "4242") -> str:
        method = fixture("payment_method", id=self.new_id("pm"))
        method["card"].update(funding=funding, brand=brand, last4=last4)
        self.methods[method["id"]] = method
        return method["id"]

    def add_bank_account(self, holder: str = "individual") -> str:
        """Return a us_bank_account PaymentMethod, as Stripe's confirmation token shows one."""
        bank = copy.deepcopy(
            RESOURCES["confirmation_token"]["payment_method_preview"]["us_bank_account"]
        )
        bank["account_holder_type"] = holder
        method = fixture(
            "payment_method", id=self.new_id("pm"), type="us_bank_account", us_bank_account=bank
        )
        del method["card"]
        self.methods[method["id"]] = method
        return method["id"]

    def add_event(self, type_: str, obj: dict, **data: Any) -> dict:
        created = 1_760_000_000 + len(self.events)
        self.events.append(event(type_, obj, created, **data))
        return self.events[-1]

    def add_payout(self, amount: int, arrival_date: int, transactions: list[dict]) -> dict:
        payout = fixture(
            "payout", id=self.new_id("po"), amount=amount, arrival_date=arrival_date, status="paid"
        )
        self.payouts.append(payout)
        self.transactions[payout["id"]] = transactions
        return payout

    def transaction(self, type_: str, amount: int, fee: int, source: dict) -> dict:
        return fixture(
            "balance_transaction",
            id=self.new_id("txn"),
            type=type_,
            reporting_category=type_,
            amount=amount,
            fee=fee,
            net=amount - fee,
            source=source,
        )

    # -- Stripe's side --------------------------------------------------------------

    def wsgi(self, environ, start_response):
        request = Request(environ)
        status, body = self.answer(request)
        response = Response(json.dumps(body), status=status, content_type="application/json")
        return response(environ, start_response)

    def answer(self, request: Request) -> tuple[int, dict]:
        if request.headers.get("Authorization") != f"Bearer {SECRET_KEY}":
            return 401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}}
        key = request.headers.get("Idempotency-Key")
        if request.method == "POST":
            if key in self.answers:
                return self.answers[key]
            self.posts.append(dict(request.form))
        answer = self.route(request)
        if request.method == "POST" and key:
            self.answers[key] = answer
        return answer

    def route(self, request: Request) -> tuple[int, dict]:
        parts = request.path.strip("/").split("/")[1:]
        form, query = request.form, request.args
        match request.method, parts:
            case "GET", ["payment_methods", pm]:
                return self.found(self.methods.get(pm))
            case "POST", ["customers"]:
                return 200, fixture("customer", id=self.new_id("cus"), name=form.get("name"))
            case "POST", ["payment_intents"]:
                return self.create_intent(form)
            case "GET", ["payment_intents", pi]:
                return self.found(self.intents.get(pi))
            case "POST", ["refunds"]:
                intent = self.intents[form["payment_intent"]]
                refund = fixture(
                    "refund",
                    id=self.new_id("re"),
                    amount=int(form["amount"]),
                    currency=intent["currency"],
                    payment_intent=intent["id"],
                    status="pending",
                )
                return 200, refund
            case "GET", ["events"]:
                types = {v for k, v in query.items() if k.startswith("types[")}
                found = [e for e in reversed(self.events) if e["type"] in types]
                if before := query.get("ending_before"):
                    newer = found[: [e["id"] for e in found].index(before)]
                    page = newer[-int(query.get("limit", 10)) :]
                    return 200, self.listing(page, has_more=len(newer) > len(page))
                return 200, self.listing(found)
            case "GET", ["payouts"]:
                since = int(query.get("arrival_date[gte]", 0))
                found = [p for p in reversed(self.payouts) if p["arrival_date"] >= since]
                return 200, self.listing(found)
            case "GET", ["balance_transactions"]:
                payout = query["payout"]
                expanded = query.get("expand[0]") == "data.source"
                found = [
                    t if expanded else {**t, "source": t["source"]["id"]}
                    for t in self.transactions.get(payout, [])
                ]
                return 200, self.listing(found)
        return 404, {
            "error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}
        }

    def create_intent(self, form) -> tuple[int, dict]:
        method = self.methods.get(form["payment_method"])
        if method is None:
            return 400, {"error": {"type": "invalid_request_error", "code": "resource_missing"}}
        bank = method["type"] == "us_bank_account"
        intent = fixture(
            "payment_intent",
            id=self.new_id("pi"),
            amount=int(form["amount"]),
            currency=form["currency"],
            customer=form.get("customer"),
            payment_method=method if form.get("expand[0]") == "payment_method" else method["id"],
            payment_method_types=[method["type"]],
            status="processing" if bank else "succeeded",
            amount_received=0 if bank else int(form["amount"]),
            last_payment_error=None,
            next_action=None,
            canceled_at=None,
        )
        self.intents[intent["id"]] = intent
        if decline := self.declines.get(method["id"]):
            error = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": decline,
                "message": "Your card was declined.",
            }
            intent.update(status="requires_payment_method", last_payment_error=error)
            return 402, {"error": {**error, "payment_intent": intent}}
        if page := self.redirects.get(method["id"]):
            intent.update(
                status="requires_action",
                next_action={
                    "type": "redirect_to_url",
                    "redirect_to_url": {"url": page, "return_url": form.get("return_url")},
                },
            )
        return 200, intent

    @staticmethod
    def found(obj: dict | None) -> tuple[int, dict]:
        if obj is None:
            return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing"}}
        return 200, obj

    @staticmethod
    def listing(data: list[dict], has_more: bool = False) -> dict:
        return {"object": "list", "data": data, "has_more": has_more, "url": "/v1/list"}
