"""The Business Central sandbox from outside: a company's bookkeeper, and arbridge connected to it.

# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow

`Books` works in a sandbox company through API v2.0, as a Business Central
user would; `connect()` authorizes arbridge's app by OAuth2 (consent, code,
token), picks the company from `tenants()`, and returns the connector, its
client carrying the token as the Django side's will.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from arbridge.connectors.base import Config, Runtime
from arbridge.connectors.business_central import BusinessCentral
from arbridge.connectors.business_central.connector import SCOPES
from arbridge.connectors.http import raise_for_status
from arbridge.connectors.oauth import BearerAuth, OAuthApp, TokenManager
from arbridge.connectors.wire import dumps, parse
from arbridge.sandbox.business_central import BusinessCentralSandbox
from arbridge.sandbox.business_central.app import CLIENT_ID, CLIENT_SECRET
from tests.connectors.tokens import MemoryTokenStore

ROOT = "http://bc.sandbox.test"
REDIRECT_URI = "http://arbridge.test/integrations/business_central/callback"
NO_WAIT = Runtime(sleep=lambda seconds: None)  # a test does not wait out Retry-After


def oauth_app() -> OAuthApp:
    return OAuthApp(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        authorize_url=f"{ROOT}/organizations/oauth2/v2.0/authorize",
        token_url=f"{ROOT}/organizations/oauth2/v2.0/token",
        redirect_uri=REDIRECT_URI,
        scope=" ".join(SCOPES),
    )


def connect(
    app: BusinessCentralSandbox,
    account: str,
    *,
    transport: httpx.BaseTransport | None = None,
    runtime: Runtime = NO_WAIT,
    credentials: dict[str, Any] | None = None,
    **preferences: Any,
) -> BusinessCentral:
    """Authorize arbridge for the account's tenant, as a partner connecting does; return the
    connector to the company, picked from those the consent reaches."""
    tenant = account.split("/")[0]
    http = httpx.Client(transport=httpx.WSGITransport(app=app))
    tokens = TokenManager(oauth_app(), MemoryTokenStore(), http)
    url, state = tokens.authorization_url()
    consent = http.get(f"{url}&tenant={tenant}")
    tokens.fetch_token(consent.headers["Location"], state=state)
    api = httpx.Client(transport=transport or httpx.WSGITransport(app=app), auth=BearerAuth(tokens))
    unpicked = BusinessCentral(Config(base_url=ROOT), api, runtime)
    picked = next(t for t in unpicked.tenants() if t.id == account)
    config = Config(
        base_url=ROOT,
        remote_account=picked.id,
        preferences=preferences,
        credentials=credentials or {"webhook_secret": "a-secret-of-this-connection"},
    )
    return BusinessCentral(config, api, runtime)


class Books:
    """A bookkeeper at work in one sandbox company, through API v2.0."""

    def __init__(self, app: BusinessCentralSandbox, account: str) -> None:
        self.sandbox = app
        self.account = account
        tenant, environment, company = account.split("/")
        token = app.auth.issue(CLIENT_ID, tenant, ttl=None)
        self.env = app.store.environment(tenant, environment)
        self.company = app.store.company(tenant, environment, company)
        self.control = httpx.Client(transport=httpx.WSGITransport(app=app), base_url=ROOT)
        self.http = httpx.Client(
            transport=httpx.WSGITransport(app=app),
            base_url=f"{ROOT}/v2.0/{tenant}/{environment}/api/v2.0/companies({company})/",
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        if body is not None:
            kwargs["content"] = dumps(body)
            kwargs["headers"] = {"Content-Type": "application/json", **kwargs.get("headers", {})}
        response = self.http.request(method, path, **kwargs)
        raise_for_status(response)
        return parse(response.content) if response.content else None

    def subscriptions(self) -> list[dict[str, Any]]:
        tenant, environment, _ = self.account.split("/")
        url = f"{ROOT}/v2.0/{tenant}/{environment}/api/v2.0/subscriptions"
        return self.call("GET", url)["value"]

    def read(self, entity_set: str, id: str) -> dict[str, Any]:
        return self.call("GET", f"{entity_set}({id})")

    def list(self, entity_set: str, **params: Any) -> list[dict[str, Any]]:
        return self.call("GET", entity_set, params=params)["value"]

    def patch(self, entity_set: str, id: str, **fields: Any) -> dict[str, Any]:
        etag = self.read(entity_set, id)["@odata.etag"]
        return self.call("PATCH", f"{entity_set}({id})", fields, headers={"If-Match": etag})

    # -- what an MSP's bookkeeper does ---------------------------------------------

    def customer(self, name: str, email: str = "", **fields: Any) -> dict[str, Any]:
        return self.call("POST", "customers", {"displayName": name, "email": email, **fields})

    def contact(self, customer_id: str, name: str, email: str) -> dict[str, Any]:
        """A person at the customer (made from the customer's card, as in Business Central)."""
        return self.sandbox.store.add_contact(
            self.env, self.company, customer_id=customer_id, name=name, email=email
        )

    def invoice(
        self, customer: dict[str, Any] | str, *amounts: str, **fields: Any
    ) -> dict[str, Any]:
        """Bill a customer one line per amount, posted at once."""
        customer_id = customer if isinstance(customer, str) else customer["id"]
        draft = self.call(
            "POST",
            "salesInvoices",
            {
                "customerId": customer_id,
                "invoiceDate": "2026-03-01",
                "dueDate": "2026-03-31",
                "salesInvoiceLines": lines(amounts),
                **fields,
            },
        )
        self.call("POST", f"salesInvoices({draft['id']})/Microsoft.NAV.post")
        return self.read("salesInvoices", draft["id"])

    def change(self, invoice_id: str, *amounts: str) -> dict[str, Any]:
        return self.patch("salesInvoices", invoice_id, salesInvoiceLines=lines(amounts))

    def cancel(self, invoice_id: str) -> None:
        self.call("POST", f"salesInvoices({invoice_id})/Microsoft.NAV.cancel")

    def block(self, customer_id: str) -> dict[str, Any]:
        return self.patch("customers", customer_id, blocked="All")

    def account_id(self, number: str, entity_set: str = "accounts") -> str:
        return next(a["id"] for a in self.list(entity_set) if a["number"] == number)

    def entries(self, **equal: str) -> list[dict[str, Any]]:
        where = " and ".join(f"{k} eq '{v}'" for k, v in equal.items())
        return self.list("generalLedgerEntries", **({"$filter": where} if where else {}))

    def payments_of(self, invoice_id: str) -> list[Decimal]:
        """Return the amounts paid on an invoice, net of reversals, by document number."""
        description = f" on {invoice_id}"
        receivables = self.account_id("13100")
        paid: dict[str, Decimal] = {}
        for entry in self.entries():
            if entry["accountId"] == receivables and entry["description"].endswith(description):
                amount = Decimal(str(entry["creditAmount"])) - Decimal(str(entry["debitAmount"]))
                head = entry["description"].removesuffix(description)
                number = head.partition("reversal of ")[2] or entry["documentNumber"]
                paid[number] = paid.get(number, Decimal(0)) + amount
        return [amount for amount in paid.values() if amount > 0]

    def faults(self, **settings: Any) -> None:
        self.control.post("/_sandbox/faults", json=settings).raise_for_status()

    def stats(self) -> dict[str, Any]:
        stats = self.control.get("/_sandbox/stats").json()
        key = "/".join(self.account.split("/")[:2])
        return stats["accounts"].get(key, {"requests": 0, "throttled": 0, "faults": 0})


def lines(amounts: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {
            "lineType": "Item",
            "lineObjectNumber": "MANAGED-SEAT",
            "description": f"Managed services, line {n}",
            "quantity": 1,
            "unitPrice": Decimal(amount),
        }
        for n, amount in enumerate(amounts, start=1)
    ]
