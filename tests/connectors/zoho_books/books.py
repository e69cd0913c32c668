"""The Zoho Books sandbox from outside: an organization's bookkeeper, and arbridge connected to it.

# Reference: https://www.zoho.com/accounts/protocol/oauth/multi-dc/client-authorization.html

`Books` works in a sandbox organization through the Books API, as a Zoho
user would; `connect()` authorizes arbridge's app as a partner connecting
does: consent at the US accounts server, the code exchanged at the accounts
server the callback names (one of the data centres the sandbox runs), the
organization picked from GET /organizations at the token's api_domain.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from arbridge.connectors.base import Config
from arbridge.connectors.http import raise_for_status
from arbridge.connectors.oauth import BearerAuth, OAuthApp, TokenManager
from arbridge.connectors.wire import dumps, parse
from arbridge.connectors.zoho_books import ZohoBooks
from arbridge.connectors.zoho_books.connector import OAUTH
from arbridge.connectors.zoho_books.datacentres import DataCentre, from_callback
from arbridge.sandbox.zoho_books import ZohoBooksSandbox
from arbridge.sandbox.zoho_books.app import CLIENT_ID, CLIENT_SECRET
from arbridge.sandbox.zoho_books.oauth import Grant
from arbridge.sandbox.zoho_books.store import LOCATIONS
from tests.connectors.tokens import MemoryTokenStore

ROOT = "http://zoho.sandbox.test"
REDIRECT_URI = "http://arbridge.test/integrations/zoho_books/callback"


def data_centres(root: str = ROOT) -> dict[str, DataCentre]:
    """Return the sandbox's data centres: the US at its root, the others under /<location>."""
    return {
        loc: DataCentre(
            loc, root if loc == "us" else f"{root}/{loc}", root if loc == "us" else f"{root}/{loc}"
        )
        for loc in LOCATIONS
    }


def oauth_app(token_url: str) -> OAuthApp:
    return OAuthApp(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        authorize_url=f"{ROOT}/oauth/v2/auth?access_type=offline&prompt=consent",
        token_url=token_url,
        redirect_uri=REDIRECT_URI,
        scope=OAUTH.scope,
        auth_method="client_secret_post",
    )


def connect(
    app: ZohoBooksSandbox,
    organization_id: str,
    *,
    transport: httpx.BaseTransport | None = None,
    store: MemoryTokenStore | None = None,
    **preferences: Any,
) -> ZohoBooks:
    """Authorize arbridge for an organization as a partner connecting does; return the connector."""
    http = httpx.Client(transport=httpx.WSGITransport(app=app))
    store = store or MemoryTokenStore()
    consent = TokenManager(oauth_app(f"{ROOT}/oauth/v2/token"), store, http)
    url, state = consent.authorization_url()
    callback = http.get(f"{url}&organization={organization_id}").headers["Location"]
    dc = from_callback(httpx.URL(callback).params, data_centres())
    tokens = TokenManager(oauth_app(dc.token_url), store, http)
    token = tokens.fetch_token(callback, state=state)
    api = httpx.Client(
        transport=transport or httpx.WSGITransport(app=app),
        auth=BearerAuth(tokens, OAUTH.authorization_scheme),
    )
    credentials = {"api_domain": token["api_domain"]}
    unpicked = ZohoBooks(Config(base_url=ROOT, credentials=credentials), api)
    picked = next(t for t in unpicked.tenants() if t.id == organization_id)
    config = Config(
        base_url=ROOT, credentials=credentials, remote_account=picked.id, preferences=preferences
    )
    connector = ZohoBooks(config, api)
    connector.client.sleep = lambda seconds: None  # a test does not wait out Retry-After
    return connector


class Books:
    """A bookkeeper at work in one sandbox organization, through the Books API."""

    def __init__(self, app: ZohoBooksSandbox, organization_id: str) -> None:
        org = app.store.org(organization_id)
        token = app.auth.issue(Grant(CLIENT_ID, org.location, [organization_id]), ttl=None)
        root = ROOT if org.location == "us" else f"{ROOT}/{org.location}"
        self.app = app
        self.organization_id = organization_id
        self.control = httpx.Client(transport=httpx.WSGITransport(app=app), base_url=ROOT)
        self.http = httpx.Client(
            transport=httpx.WSGITransport(app=app),
            base_url=f"{root}/books/v3/",
            headers={"Authorization": f"Zoho-oauthtoken {token['access_token']}"},
            params={"organization_id": organization_id},
        )

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        if body is not None:
            kwargs["content"] = dumps(body)
            kwargs["headers"] = {"Content-Type": "application/json"}
        response = self.http.request(method, path, **kwargs)
        raise_for_status(response)
        return parse(response.content)

    # -- what an MSP's bookkeeper does ---------------------------------------------

    def contact(self, name: str, email: str = "", **fields: Any) -> dict[str, Any]:
        persons = [
            {
                "first_name": "Accounts",
                "last_name": "Payable",
                "email": email,
                "is_primary_contact": True,
            }
        ]
        body = {"contact_name": name, "contact_persons": persons if email else [], **fields}
        return self.call("POST", "contacts", body)["contact"]

    def rename(self, contact_id: str, name: str) -> dict[str, Any]:
        return self.call("PUT", f"contacts/{contact_id}", {"contact_name": name})["contact"]

    def deactivate(self, contact_id: str) -> None:
        self.call("POST", f"contacts/{contact_id}/inactive")

    def invoice(
        self, contact_id: str, *amounts: str, send: bool = True, **fields: Any
    ) -> dict[str, Any]:
        """Bill a contact one line per amount, marked as sent unless told not to."""
        body = {
            "customer_id": contact_id,
            "date": "2026-03-01",
            "due_date": "2026-03-31",
            "line_items": lines(amounts),
            **fields,
        }
        invoice = self.call("POST", "invoices", body)["invoice"]
        if send:
            self.call("POST", f"invoices/{invoice['invoice_id']}/status/sent")
        return self.read(invoice["invoice_id"])

    def change(self, invoice_id: str, *amounts: str) -> dict[str, Any]:
        return self.call("PUT", f"invoices/{invoice_id}", {"line_items": lines(amounts)})["invoice"]

    def read(self, invoice_id: str) -> dict[str, Any]:
        return self.call("GET", f"invoices/{invoice_id}")["invoice"]

    def void(self, invoice_id: str) -> None:
        self.call("POST", f"invoices/{invoice_id}/status/void")

    def delete(self, invoice_id: str) -> None:
        self.call("DELETE", f"invoices/{invoice_id}")

    def pay(self, invoice: dict[str, Any], amount: str, **fields: Any) -> dict[str, Any]:
        body = {
            "customer_id": invoice["customer_id"],
            "payment_mode": "check",
            "amount": Decimal(amount),
            "date": "2026-03-05",
            "reference_number": "CHK-1001",
            "invoices": [{"invoice_id": invoice["invoice_id"], "amount_applied": Decimal(amount)}],
            **fields,
        }
        return self.call("POST", "customerpayments", body)["payment"]

    def delete_payment(self, payment_id: str) -> None:
        self.call("DELETE", f"customerpayments/{payment_id}")

    def credit(self, invoice: dict[str, Any], amount: str) -> dict[str, Any]:
        note = self.call(
            "POST",
            "creditnotes",
            {"customer_id": invoice["customer_id"], "line_items": lines((amount,))},
        )["creditnote"]
        self.call(
            "POST",
            f"creditnotes/{note['creditnote_id']}/invoices",
            {
                "invoices": [
                    {"invoice_id": invoice["invoice_id"], "amount_applied": Decimal(amount)}
                ]
            },
        )
        return note

    def payments_of(self, invoice_id: str) -> list[dict[str, Any]]:
        return list(self.call("GET", f"invoices/{invoice_id}/payments")["payments"])

    def payment(self, payment_id: str) -> dict[str, Any]:
        return self.call("GET", f"customerpayments/{payment_id}")["payment"]

    def faults(self, **settings: Any) -> None:
        self.control.post("/_sandbox/faults", json=settings).raise_for_status()

    def stats(self) -> dict[str, Any]:
        stats = self.control.get("/_sandbox/stats").json()
        return stats["organizations"].get(
            self.organization_id, {"requests": 0, "throttled": 0, "faults": 0}
        )


def lines(amounts: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {
            "name": "Managed services",
            "description": f"Managed services, line {n}",
            "quantity": 1,
            "rate": Decimal(a),
        }
        for n, a in enumerate(amounts, start=1)
    ]
