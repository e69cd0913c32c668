"""The QuickBooks sandbox from outside: a company's bookkeeper, and arbridge connected to it.

`Books` works in a sandbox company through the v3 API, as a QuickBooks user
would; `connect()` authorizes arbridge's app by OAuth2 (consent, code, token)
and returns the connector, its client carrying the token as
integrations/qbo.py's does.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from arbridge.connectors.base import Config
from arbridge.connectors.http import raise_for_status
from arbridge.connectors.oauth import BearerAuth, OAuthApp, TokenManager
from arbridge.connectors.qbo import QuickBooksOnline
from arbridge.connectors.qbo.client import dumps, loads
from arbridge.sandbox.qbo import QuickBooksSandbox
from arbridge.sandbox.qbo.app import CLIENT_ID, CLIENT_SECRET
from tests.connectors.tokens import MemoryTokenStore

ROOT = "http://qbo.sandbox.test"
SCOPE = "com.intuit.quickbooks.accounting"
REDIRECT_URI = "http://arbridge.test/integrations/qbo/callback"


def connect(
    app: QuickBooksSandbox,
    realm: str,
    *,
    transport: httpx.BaseTransport | None = None,
    **preferences: Any,
) -> QuickBooksOnline:
    """Authorize arbridge for a company, as a partner connecting does; return the connector.

    `transport` stands between the connector and QuickBooks, if a test needs
    something to happen there.
    """
    http = httpx.Client(transport=httpx.WSGITransport(app=app))
    oauth = OAuthApp(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        authorize_url=f"{ROOT}/oauth2/authorize",
        token_url=f"{ROOT}/oauth2/token",
        redirect_uri=REDIRECT_URI,
        scope=SCOPE,
    )
    tokens = TokenManager(oauth, MemoryTokenStore(), http)
    url, state = tokens.authorization_url()
    consent = http.get(f"{url}&realmId={realm}")
    tokens.fetch_token(consent.headers["Location"], state=state)
    api = httpx.Client(transport=transport or httpx.WSGITransport(app=app), auth=BearerAuth(tokens))
    config = Config(base_url=ROOT, remote_account=realm, preferences=preferences)
    return QuickBooksOnline(config, api)


class Books:
    """A bookkeeper at work in one sandbox company, through the v3 API."""

    def __init__(self, app: QuickBooksSandbox, realm: str) -> None:
        token = app.store.issue_token(realm, ttl=None)
        self.sandbox = app
        self.realm = realm
        self.control = httpx.Client(transport=httpx.WSGITransport(app=app), base_url=ROOT)
        self.http = httpx.Client(
            transport=httpx.WSGITransport(app=app),
            base_url=f"{ROOT}/v3/company/{realm}/",
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        raise_for_status(response)
        return loads(response.content)

    def post(self, entity: str, body: dict[str, Any], **params: str) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        answer = self.call(
            "POST", entity.lower(), content=dumps(body), params=params, headers=headers
        )
        return answer[entity]

    def read(self, entity: str, id: str) -> dict[str, Any]:
        return self.call("GET", f"{entity.lower()}/{id}")[entity]

    def query(self, text: str) -> list[dict[str, Any]]:
        entity = text.split()[3]
        return self.call("GET", "query", params={"query": text})["QueryResponse"].get(entity, [])

    def update(self, entity: str, id: str, **fields: Any) -> dict[str, Any]:
        """Change some fields of an object (a sparse update at its latest SyncToken)."""
        token = self.read(entity, id)["SyncToken"]
        return self.post(entity, {"Id": id, "SyncToken": token, "sparse": True, **fields})

    def delete(self, entity: str, id: str) -> dict[str, Any]:
        token = self.read(entity, id)["SyncToken"]
        return self.post(entity, {"Id": id, "SyncToken": token}, operation="delete")

    def void(self, entity: str, id: str) -> dict[str, Any]:
        token = self.read(entity, id)["SyncToken"]
        return self.post(entity, {"Id": id, "SyncToken": token}, operation="void")

    # -- what an MSP's bookkeeper does ---------------------------------------------

    def customer(self, name: str, email: str | None = None, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"DisplayName": name, **fields}
        if email is not None:
            body["PrimaryEmailAddr"] = {"Address": email}
        return self.post("Customer", body)

    def invoice(self, customer: dict[str, Any], *amounts: str, **fields: Any) -> dict[str, Any]:
        """Bill a customer one line per amount."""
        return self.post(
            "Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": lines(amounts), **fields}
        )

    def pay(self, invoice: dict[str, Any], amount: str, **fields: Any) -> dict[str, Any]:
        """Record a payment received against an invoice."""
        return self.post(
            "Payment",
            {
                "CustomerRef": invoice["CustomerRef"],
                "TotalAmt": Decimal(amount),
                "Line": [
                    {
                        "Amount": Decimal(amount),
                        "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}],
                    }
                ],
                **fields,
            },
        )

    def credit(self, invoice: dict[str, Any], amount: str) -> dict[str, Any]:
        """Give the customer a credit memo and apply it to the invoice, as QuickBooks does."""
        memo = self.post(
            "CreditMemo", {"CustomerRef": invoice["CustomerRef"], "Line": lines((amount,))}
        )
        links = [("Invoice", invoice["Id"]), ("CreditMemo", memo["Id"])]
        applied = [
            {"Amount": Decimal(amount), "LinkedTxn": [{"TxnId": id, "TxnType": kind}]}
            for kind, id in links
        ]
        body = {"CustomerRef": invoice["CustomerRef"], "TotalAmt": Decimal(0), "Line": applied}
        return self.post("Payment", body)

    def account(self, name: str, kind: str, subtype: str | None = None) -> dict[str, Any]:
        body = {"Name": name, "AccountType": kind}
        if subtype:
            body["AccountSubType"] = subtype
        return self.post("Account", body)

    def payments_of(self, invoice_id: str) -> list[dict[str, Any]]:
        """Return the payments linked to an invoice."""
        return [
            payment
            for payment in self.query("select * from Payment")
            for line in payment.get("Line", [])
            for txn in line.get("LinkedTxn", [])
            if txn["TxnType"] == "Invoice" and txn["TxnId"] == invoice_id
        ]

    def find(self, entity: str, **where: str) -> list[dict[str, Any]]:
        conditions = " and ".join(f"{name} = '{value}'" for name, value in where.items())
        return self.query(f"select * from {entity} where {conditions}")  # noqa: S608

    def faults(self, **settings: Any) -> None:
        """Switch the sandbox's faults (error_rate, error_kinds, timeout_ms, seed...)."""
        response = self.control.post("/_sandbox/faults", json=settings)
        response.raise_for_status()

    def requests(self) -> int:
        """Return how many API calls the company has received so far."""
        stats = self.control.get("/_sandbox/stats").json()
        return stats["realms"].get(self.realm, {}).get("requests", 0)


def lines(amounts: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {
            "Amount": Decimal(amount),
            "Description": f"Managed services, line {number}",
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"Qty": 1, "UnitPrice": Decimal(amount)},
        }
        for number, amount in enumerate(amounts, start=1)
    ]
