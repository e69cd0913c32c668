"""A HaloPSA sandbox from outside: an MSP's billing person working in it through the API.

`Halo` gets a token from /auth/token with the tenant's API application, as
any integration does, then writes clients, contacts, agreements, invoices
and payments with the array-bodied POSTs Halo takes. The connector tests use
it too, to set up what arbridge then reads.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from arbridge.sandbox.halopsa import HaloSandbox
from arbridge.sandbox.halopsa.app import CLIENT_ID, CLIENT_SECRET, TENANT
from arbridge.sandbox.halopsa.wire import dumps, loads
from tests.sandbox.clock import T0, Clock  # noqa: F401 (Clock: for the tests that import it here)

ROOT = "http://halo.test"


def control(sandbox: HaloSandbox) -> httpx.Client:
    """Return a client of the sandbox with no token: /auth/token and /_sandbox/."""
    return httpx.Client(transport=httpx.WSGITransport(app=sandbox), base_url=ROOT)


def token(sandbox: HaloSandbox, tenant: str = TENANT, **form: str) -> httpx.Response:
    """Ask the token endpoint for a token, as an API application does."""
    body = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": "all",
        **form,
    }
    return control(sandbox).post("/auth/token", params={"tenant": tenant}, data=body)


class Halo:
    """One tenant's API, as a user with an API application sees it."""

    def __init__(
        self,
        sandbox: HaloSandbox,
        tenant: str = TENANT,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
    ) -> None:
        self.sandbox = sandbox
        self.http = control(sandbox)
        answer = token(sandbox, tenant, client_id=client_id, client_secret=client_secret)
        answer.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, f"/api/{path}", **kwargs)

    def get(self, path: str, **params: Any) -> Any:
        response = self.request("GET", path, params=params)
        response.raise_for_status()
        return loads(response.content)

    def post(self, path: str, *items: dict[str, Any]) -> Any:
        """POST records as Halo takes them, an array; return what Halo answers."""
        response = self.send(path, *items)
        response.raise_for_status()
        return loads(response.content)

    def send(self, path: str, *items: dict[str, Any]) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        return self.request("POST", path, content=dumps(list(items)), headers=headers)

    def delete(self, path: str) -> httpx.Response:
        return self.request("DELETE", path)

    # -- what a billing person does -------------------------------------------

    def client(self, name: str, email: str = "", **fields: Any) -> dict[str, Any]:
        return self.post("Client", {"name": name, "accountsemailaddress": email, **fields})

    def user(self, client: dict, name: str, email: str, *, billing: bool, **fields: Any) -> dict:
        body = {"client_id": client["id"], "name": name, "emailaddress": email}
        return self.post("Users", {**body, "sendaccountsemails": billing, **fields})

    def agreement(self, client: dict, kind: str, **fields: Any) -> dict[str, Any]:
        return self.post(
            "ClientContract", {"client_id": client["id"], "contracttype_name": kind, **fields}
        )

    def invoice(
        self,
        client: dict | None,
        *lines: tuple[str, int | str, str],
        agreement: dict | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Bill a client (or no one) lines of (description, quantity, unit price)."""
        body: dict[str, Any] = {
            "client_id": client["id"] if client else None,
            "invoice_date": "2026-03-01",
            "duedate": "2026-03-31",
            "lines": [
                {"item_shortdescription": text, "qty_order": qty, "unit_price": Decimal(price)}
                for text, qty, price in lines or [("Managed services", 1, "100.00")]
            ],
            **fields,
        }
        if agreement is not None:
            body["contract_id"] = agreement["id"]
        return self.post("Invoice", body)

    def pay(self, invoice: dict, amount: str, **fields: Any) -> dict[str, Any]:
        body = {"invoice_id": invoice["id"], "amount": Decimal(amount), "date": "2026-03-02"}
        return self.post("InvoicePayment", {**body, **fields})

    def credit(self, invoice: dict, amount: str) -> dict[str, Any]:
        """Raise a credit note against an invoice."""
        line = {"item_shortdescription": "Service credit", "unit_price": Decimal(amount)}
        return self.post(
            "Invoice",
            {
                "client_id": invoice["client_id"],
                "creditlinkedtoinvoiceid": invoice["id"],
                "lines": [line],
            },
        )
