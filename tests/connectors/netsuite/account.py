"""The NetSuite sandbox from outside: an account's bookkeeper, and arbridge connected to it.

# Reference: https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162686838198.html

An administrator sets up arbridge as NetSuite asks: an integration record
(its client id) and a certificate uploaded to the M2M setup, whose private
key arbridge is given. `Bookkeeper` works in the account through the same
REST API, under an integration of its own.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from functools import cache
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from arbridge.connectors.base import Config, Runtime
from arbridge.connectors.http import raise_for_status
from arbridge.connectors.netsuite import NetSuite
from arbridge.connectors.netsuite.auth import ClientCredentialsAuth
from arbridge.connectors.wire import dumps, parse
from arbridge.sandbox.netsuite import NetSuiteSandbox

ROOT = "http://netsuite.sandbox.test"
RECORDS = "/services/rest/record/v1"
_accounts = itertools.count(1)


@cache
def key_pair(kind: str = "ec") -> tuple[str, str]:
    """Return (private, public) PEM of a certificate's key: made once per test run."""
    key = (
        ec.generate_private_key(ec.SECP256R1())
        if kind == "ec"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def new_account(app: NetSuiteSandbox, *, concurrency: int = 5, key: str = "ec") -> dict[str, str]:
    """Add an account with arbridge's integration and certificate; return arbridge's credentials."""
    account_id = f"TSTDRV{next(_accounts):06d}"
    private, public = key_pair(key)
    control = httpx.Client(transport=httpx.WSGITransport(app=app), base_url=ROOT)
    control.post(
        "/_sandbox/accounts",
        json={
            "account_id": account_id,
            "concurrency": concurrency,
            "client_id": f"arbridge-{account_id}",
            "certificate_id": f"cert-{account_id}",
            "public_key": public,
        },
    ).raise_for_status()
    control.post(
        "/_sandbox/accounts",
        json={
            "account_id": account_id,
            "concurrency": concurrency,
            "client_id": f"books-{account_id}",
            "certificate_id": f"books-cert-{account_id}",
            "public_key": public,
        },
    ).raise_for_status()
    return {
        "account_id": account_id,
        "client_id": f"arbridge-{account_id}",
        "certificate_id": f"cert-{account_id}",
        "private_key": private,
        "base_url": f"{ROOT}/{account_id}",
    }


def connect(
    app: NetSuiteSandbox,
    credentials: dict[str, str],
    *,
    transport: httpx.BaseTransport | None = None,
    runtime: Runtime | None = None,
    **preferences: Any,
) -> NetSuite:
    """Return arbridge's connector to the account, as the runtime builds it."""
    http = httpx.Client(transport=transport or httpx.WSGITransport(app=app))
    config = Config(
        base_url="",
        credentials=credentials,
        remote_account=credentials["account_id"],
        preferences=preferences,
    )
    connector = NetSuite(config, http, runtime or Runtime(sleep=lambda seconds: None))
    return connector


class Bookkeeper:
    """A person at work in one sandbox account, through the REST API."""

    def __init__(self, app: NetSuiteSandbox, credentials: dict[str, str]) -> None:
        self.account_id = credentials["account_id"]
        base = f"{ROOT}/{self.account_id}"
        auth = ClientCredentialsAuth(
            f"{base}/services/rest/auth/oauth2/v1/token",
            f"books-{self.account_id}",
            f"books-cert-{self.account_id}",
            credentials["private_key"],
        )
        self.http = httpx.Client(transport=httpx.WSGITransport(app=app), base_url=base, auth=auth)
        self.control = httpx.Client(transport=httpx.WSGITransport(app=app), base_url=ROOT)

    def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs = {"content": dumps(body), "headers": {"Content-Type": "application/json"}}
        response = self.http.request(method, f"{RECORDS}/{path}", **kwargs)
        raise_for_status(response)
        return response

    def create(self, kind: str, body: dict[str, Any]) -> str:
        return self.call("POST", kind, body).headers["Location"].rpartition("/")[2]

    def read(self, kind: str, id: str) -> dict[str, Any]:
        return parse(self.call("GET", f"{kind}/{id}").content)

    # -- what an MSP's bookkeeper does ---------------------------------------------

    def customer(self, name: str, email: str = "", **fields: Any) -> str:
        roles = (
            [
                {
                    "contact": {"id": "7001", "refName": "Accounts Payable"},
                    "email": email,
                    "role": {"id": "1", "refName": "Billing"},
                }
            ]
            if email
            else []
        )
        return self.create(
            "customer",
            {"companyName": name, "email": email, "contactRoles": {"items": roles}, **fields},
        )

    def update(self, kind: str, id: str, **fields: Any) -> None:
        self.call("PATCH", f"{kind}/{id}", fields)

    def invoice(self, customer_id: str, *amounts: str, **fields: Any) -> str:
        return self.create(
            "invoice",
            {
                "entity": {"id": customer_id},
                "tranDate": "2026-03-01",
                "dueDate": "2026-03-31",
                "item": {"items": lines(amounts)},
                **fields,
            },
        )

    def change(self, invoice_id: str, *amounts: str) -> None:
        self.update("invoice", invoice_id, item={"items": lines(amounts)})

    def delete(self, kind: str, id: str) -> None:
        self.call("DELETE", f"{kind}/{id}")

    def void(self, invoice_id: str) -> None:
        self.control.post(
            "/_sandbox/void", json={"account_id": self.account_id, "invoice_id": invoice_id}
        ).raise_for_status()

    def pay(self, customer_id: str, invoice_id: str, amount: str) -> str:
        return self.create(
            "customerPayment",
            {
                "customer": {"id": customer_id},
                "payment": Decimal(amount),
                "tranDate": "2026-03-05",
                "paymentMethod": {"refName": "Check"},
                "apply": {
                    "items": [{"doc": {"id": invoice_id}, "apply": True, "amount": Decimal(amount)}]
                },
            },
        )

    def credit(self, customer_id: str, invoice_id: str, amount: str) -> str:
        return self.create(
            "creditMemo",
            {
                "entity": {"id": customer_id},
                "tranDate": "2026-03-06",
                "item": {"items": lines((amount,))},
                "apply": {
                    "items": [{"doc": {"id": invoice_id}, "apply": True, "amount": Decimal(amount)}]
                },
            },
        )

    def payments_of(self, invoice_id: str) -> list[dict[str, Any]]:
        query = "SELECT id FROM transaction WHERE type = 'CustPymt' ORDER BY id"
        response = self.http.post(
            "/services/rest/query/v1/suiteql",
            content=dumps({"q": query}),
            headers={"Prefer": "transient", "Content-Type": "application/json"},
        )
        raise_for_status(response)
        payments = [
            self.read("customerPayment", row["id"]) for row in parse(response.content)["items"]
        ]
        return [
            p for p in payments if any(a["doc"]["id"] == invoice_id for a in p["apply"]["items"])
        ]

    def faults(self, **settings: Any) -> None:
        self.control.post("/_sandbox/faults", json=settings).raise_for_status()

    def stats(self) -> dict[str, int]:
        return self.control.get("/_sandbox/stats").json().get(self.account_id, {})


def lines(amounts: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {
            "item": {"id": "1", "refName": "Managed services"},
            "description": f"Managed services, line {n}",
            "quantity": 1,
            "rate": Decimal(a),
        }
        for n, a in enumerate(amounts, start=1)
    ]
