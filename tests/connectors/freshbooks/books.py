"""The FreshBooks sandbox from outside: a business's bookkeeper, and arbridge connected to it.

# Reference: https://www.freshbooks.com/api/authentication

`Books` works in a sandbox account through the accounting API, as a
FreshBooks user would; `connect()` authorizes arbridge's app by OAuth2
(consent, code, token), picks the account from /auth/api/v1/users/me, and
returns the connector, its client carrying the token as the Django side's will.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from arbridge.connectors.base import Config, Runtime
from arbridge.connectors.freshbooks import FreshBooks
from arbridge.connectors.freshbooks.connector import SCOPES
from arbridge.connectors.http import raise_for_status
from arbridge.connectors.oauth import BearerAuth, OAuthApp, TokenManager
from arbridge.connectors.wire import dumps, parse
from arbridge.sandbox.freshbooks import FreshBooksSandbox
from arbridge.sandbox.freshbooks.app import CLIENT_ID, CLIENT_SECRET
from tests.connectors.tokens import MemoryTokenStore

ROOT = "http://freshbooks.sandbox.test"
REDIRECT_URI = "http://arbridge.test/integrations/freshbooks/callback"


def oauth_app() -> OAuthApp:
    return OAuthApp(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        authorize_url=f"{ROOT}/service/auth/oauth/authorize",
        token_url=f"{ROOT}/auth/oauth/token",
        redirect_uri=REDIRECT_URI,
        scope=" ".join(SCOPES),
    )


def connect(
    app: FreshBooksSandbox,
    account: str,
    *,
    transport: httpx.BaseTransport | None = None,
    store: MemoryTokenStore | None = None,
    runtime: Runtime | None = None,
    credentials: dict[str, Any] | None = None,
) -> FreshBooks:
    """Authorize arbridge for a business, as a partner connecting does; return the connector.

    The consent reaches the business; its account id is then picked from
    users/me, as the partner picks it after consent.
    """
    http = httpx.Client(transport=httpx.WSGITransport(app=app))
    tokens = TokenManager(oauth_app(), store or MemoryTokenStore(), http)
    url, state = tokens.authorization_url()
    consent = http.get(f"{url}&account={account}")
    tokens.fetch_token(consent.headers["Location"], state=state)
    api = httpx.Client(transport=transport or httpx.WSGITransport(app=app), auth=BearerAuth(tokens))
    unpicked = FreshBooks(Config(base_url=ROOT), api)
    picked = next(t for t in unpicked.tenants() if t.id == account)
    config = Config(base_url=ROOT, remote_account=picked.id, credentials=credentials or {})
    connector = FreshBooks(config, api, runtime or Runtime())
    connector.client.sleep = lambda seconds: None  # a test does not wait out Retry-After
    return connector


class Books:
    """A bookkeeper at work in one sandbox business, through the accounting API."""

    def __init__(self, app: FreshBooksSandbox, account: str) -> None:
        token = app.store.auth.issue(CLIENT_ID, [account], ttl=None)
        self.sandbox = app
        self.account = account
        self.control = httpx.Client(transport=httpx.WSGITransport(app=app), base_url=ROOT)
        self.http = httpx.Client(
            transport=httpx.WSGITransport(app=app),
            base_url=f"{ROOT}/accounting/account/{account}/",
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        if body is not None:
            kwargs["content"] = dumps(body)
            kwargs["headers"] = {"Content-Type": "application/json"}
        response = self.http.request(method, path, **kwargs)
        raise_for_status(response)
        return parse(response.content)["response"]["result"]

    def create(self, path: str, key: str, fields: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", path, {key: fields})[key]

    def update(self, path: str, key: str, id: Any, **fields: Any) -> dict[str, Any]:
        return self.call("PUT", f"{path}/{id}", {key: fields})[key]

    def list(self, path: str, **params: Any) -> list[dict[str, Any]]:
        result = self.call("GET", path, params={"per_page": 100, **params})
        return result[path.rsplit("/", 1)[-1]]

    # -- what a business's bookkeeper does ------------------------------------------

    def client(self, organization: str, email: str = "", **fields: Any) -> dict[str, Any]:
        return self.create(
            "users/clients", "client", {"organization": organization, "email": email, **fields}
        )

    def rename(self, client_id: Any, organization: str) -> dict[str, Any]:
        return self.update("users/clients", "client", client_id, organization=organization)

    def delete_client(self, client_id: Any) -> dict[str, Any]:
        return self.update("users/clients", "client", client_id, vis_state=1)

    def invoice(self, client: dict[str, Any] | Any, *amounts: str, **fields: Any) -> dict:
        """Bill a client one line per amount, sent at once."""
        client_id = client["id"] if isinstance(client, dict) else client
        body = {
            "customerid": client_id,
            "create_date": "2026-03-01",
            "due_offset_days": 30,
            "lines": lines(amounts),
            **fields,
        }
        return self.create("invoices/invoices", "invoice", body)

    def change(self, invoice_id: Any, *amounts: str) -> dict[str, Any]:
        return self.update("invoices/invoices", "invoice", invoice_id, lines=lines(amounts))

    def delete_invoice(self, invoice_id: Any) -> dict[str, Any]:
        return self.update("invoices/invoices", "invoice", invoice_id, vis_state=1)

    def pay(self, invoice: dict[str, Any], amount: str, **fields: Any) -> dict[str, Any]:
        body = {
            "invoiceid": invoice["id"],
            "amount": {"amount": amount, "code": "USD"},
            "date": "2026-03-05",
            "type": "Check",
            **fields,
        }
        return self.create("payments/payments", "payment", body)

    def credit(self, invoice: dict[str, Any], amount: str) -> dict[str, Any]:
        """Apply a credit note to the invoice: a payment of type Credit naming it."""
        return self.pay(invoice, amount, type="Credit", creditid=7001, note="Credit note 7001")

    def delete_payment(self, payment_id: Any) -> dict[str, Any]:
        return self.update("payments/payments", "payment", payment_id, vis_state=1)

    def read_invoice(self, invoice_id: Any) -> dict[str, Any]:
        return self.call("GET", f"invoices/invoices/{invoice_id}")["invoice"]

    def payments_of(self, invoice_id: Any) -> list[dict[str, Any]]:
        return [
            p
            for p in self.list("payments/payments", **{"search[invoiceid]": str(invoice_id)})
            if p["vis_state"] == 0
        ]

    def faults(self, **settings: Any) -> None:
        self.control.post("/_sandbox/faults", json=settings).raise_for_status()

    def stats(self) -> dict[str, Any]:
        stats = self.control.get("/_sandbox/stats").json()
        return stats["accounts"].get(self.account, {"requests": 0, "throttled": 0, "faults": 0})


def lines(amounts: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {
            "name": "Managed services",
            "description": f"Line {n}",
            "qty": 1,
            "unit_cost": {"amount": str(Decimal(amount)), "code": "USD"},
        }
        for n, amount in enumerate(amounts, start=1)
    ]
