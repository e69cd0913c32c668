"""The Xero sandbox from outside: an organisation's bookkeeper, and arbridge connected to it.

# Reference: https://developer.xero.com/documentation/guides/oauth2/auth-flow

`Books` works in a sandbox organisation through the Accounting API, as a Xero
user would; `connect()` authorizes arbridge's app by OAuth2 (consent, code,
token), picks the organisation from GET /connections, and returns the
connector, its client carrying the token as the Django side's will.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from arbridge.connectors.base import Config
from arbridge.connectors.http import raise_for_status
from arbridge.connectors.oauth import BearerAuth, OAuthApp, TokenManager
from arbridge.connectors.wire import dumps, parse
from arbridge.connectors.xero import XeroConnector
from arbridge.connectors.xero.connector import SCOPES
from arbridge.sandbox.xero import XeroSandbox
from arbridge.sandbox.xero.app import CLIENT_ID, CLIENT_SECRET
from tests.connectors.tokens import MemoryTokenStore

ROOT = "http://xero.sandbox.test"
REDIRECT_URI = "http://arbridge.test/integrations/xero/callback"


def oauth_app() -> OAuthApp:
    return OAuthApp(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        authorize_url=f"{ROOT}/identity/connect/authorize",
        token_url=f"{ROOT}/connect/token",
        redirect_uri=REDIRECT_URI,
        scope=" ".join(SCOPES),
    )


def connect(
    app: XeroSandbox,
    tenant: str,
    *,
    transport: httpx.BaseTransport | None = None,
    store: MemoryTokenStore | None = None,
    **preferences: Any,
) -> XeroConnector:
    """Authorize arbridge for an organisation, as a partner connecting does; return the connector.

    The consent connects the organisation; the tenant is then picked from
    the connections, as the partner picks it after consent.
    """
    http = httpx.Client(transport=httpx.WSGITransport(app=app))
    tokens = TokenManager(oauth_app(), store or MemoryTokenStore(), http)
    url, state = tokens.authorization_url()
    consent = http.get(f"{url}&tenant={tenant}")
    tokens.fetch_token(consent.headers["Location"], state=state)
    api = httpx.Client(transport=transport or httpx.WSGITransport(app=app), auth=BearerAuth(tokens))
    unpicked = XeroConnector(Config(base_url=ROOT), api)
    picked = next(t for t in unpicked.tenants() if t.id == tenant)
    config = Config(base_url=ROOT, remote_account=picked.id, preferences=preferences)
    connector = XeroConnector(config, api)
    connector.client.sleep = lambda seconds: None  # a test does not wait out Retry-After
    return connector


class Books:
    """A bookkeeper at work in one sandbox organisation, through the Accounting API."""

    def __init__(self, app: XeroSandbox, tenant: str) -> None:
        token = app.store.auth.issue(CLIENT_ID, [tenant], ttl=None)
        self.sandbox = app
        self.tenant = tenant
        self.control = httpx.Client(transport=httpx.WSGITransport(app=app), base_url=ROOT)
        self.http = httpx.Client(
            transport=httpx.WSGITransport(app=app),
            base_url=f"{ROOT}/api.xro/2.0/",
            headers={"Authorization": f"Bearer {token['access_token']}", "xero-tenant-id": tenant},
        )

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        if body is not None:
            kwargs["content"] = dumps(body)
            kwargs["headers"] = {"Content-Type": "application/json", **kwargs.get("headers", {})}
        response = self.http.request(method, path, **kwargs)
        raise_for_status(response)
        return parse(response.content)

    def create(self, resource: str, item: dict[str, Any]) -> dict[str, Any]:
        return self.call("PUT", resource, {resource: [item]})[resource][0]

    def update(self, resource: str, id: str, **fields: Any) -> dict[str, Any]:
        return self.call("POST", f"{resource}/{id}", {resource: [fields]})[resource][0]

    def read(self, resource: str, id: str) -> dict[str, Any]:
        return self.call("GET", f"{resource}/{id}")[resource][0]

    def list(self, resource: str, **params: Any) -> list[dict[str, Any]]:
        return self.call("GET", resource, params=params)[resource]

    # -- what an MSP's bookkeeper does ---------------------------------------------

    def contact(self, name: str, email: str = "", **fields: Any) -> dict[str, Any]:
        return self.create("Contacts", {"Name": name, "EmailAddress": email, **fields})

    def invoice(
        self, contact: dict[str, Any] | str, *amounts: str, **fields: Any
    ) -> dict[str, Any]:
        """Bill a contact one line per amount, approved at once."""
        contact_id = contact if isinstance(contact, str) else contact["ContactID"]
        body = {
            "Type": "ACCREC",
            "Contact": {"ContactID": contact_id},
            "Status": "AUTHORISED",
            "Date": "2026-03-01",
            "DueDate": "2026-03-31",
            "LineItems": lines(amounts),
            **fields,
        }
        return self.create("Invoices", body)

    def pay(self, invoice: dict[str, Any], amount: str, account: str = "090") -> dict[str, Any]:
        return self.create(
            "Payments",
            {
                "Invoice": {"InvoiceID": invoice["InvoiceID"]},
                "Account": {"Code": account},
                "Date": "2026-03-05",
                "Amount": Decimal(amount),
            },
        )

    def credit(self, invoice: dict[str, Any], amount: str) -> dict[str, Any]:
        """Raise a credit note for the invoice's contact and allocate it to the invoice."""
        note = self.create(
            "CreditNotes",
            {
                "Type": "ACCRECCREDIT",
                "Contact": invoice["Contact"],
                "Status": "AUTHORISED",
                "LineItems": lines((amount,)),
            },
        )
        self.call(
            "PUT",
            f"CreditNotes/{note['CreditNoteID']}/Allocations",
            {
                "Allocations": [
                    {
                        "Invoice": {"InvoiceID": invoice["InvoiceID"]},
                        "Amount": Decimal(amount),
                        "Date": "2026-03-06",
                    }
                ]
            },
        )
        return self.read("CreditNotes", note["CreditNoteID"])

    def void(self, invoice_id: str) -> dict[str, Any]:
        return self.update("Invoices", invoice_id, Status="VOIDED")

    def archive(self, contact_id: str) -> dict[str, Any]:
        return self.update("Contacts", contact_id, ContactStatus="ARCHIVED")

    def payments_of(self, invoice_id: str) -> list[dict[str, Any]]:
        return [
            p
            for p in self.list("Payments")
            if p["Invoice"]["InvoiceID"] == invoice_id and p["Status"] != "DELETED"
        ]

    def faults(self, **settings: Any) -> None:
        self.control.post("/_sandbox/faults", json=settings).raise_for_status()

    def stats(self) -> dict[str, Any]:
        stats = self.control.get("/_sandbox/stats").json()
        return stats["tenants"].get(self.tenant, {"requests": 0, "throttled": 0, "faults": 0})


def lines(amounts: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {
            "Description": f"Managed services, line {n}",
            "Quantity": 1,
            "UnitAmount": Decimal(amount),
            "AccountCode": "200",
        }
        for n, amount in enumerate(amounts, start=1)
    ]
