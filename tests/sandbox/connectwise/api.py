"""A ConnectWise sandbox from outside: an MSP's billing person working in it through the API.

`CW` sends the API member's Basic credentials and the clientId, as any
integration does. The connector tests use it too, to set up what arbridge
then reads.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from arbridge.sandbox.connectwise import ConnectWiseSandbox
from arbridge.sandbox.connectwise.seed import api_client, post
from tests.sandbox.clock import T0, Clock  # noqa: F401 (Clock: for the tests that import it here)

ROOT = "http://cw.test"


def control(sandbox: ConnectWiseSandbox) -> httpx.Client:
    """Return a client of the sandbox with no credentials: /login and /_sandbox/."""
    return httpx.Client(transport=httpx.WSGITransport(app=sandbox), base_url=ROOT)


class CW:
    """The sandbox company's API, as its API member sees it."""

    def __init__(self, sandbox: ConnectWiseSandbox) -> None:
        self.sandbox = sandbox
        self.api = api_client(sandbox, ROOT)

    def get(self, path: str, **params: Any) -> Any:
        response = self.api.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return post(self.api, path, body)

    def patch(self, path: str, **fields: Any) -> dict[str, Any]:
        operations = [{"op": "replace", "path": name, "value": value}
                      for name, value in fields.items()]  # fmt: skip
        response = self.api.patch(path, json=operations)
        response.raise_for_status()
        return response.json()

    def delete(self, path: str) -> httpx.Response:
        return self.api.delete(path)

    def company(self, name: str, **fields: Any) -> dict[str, Any]:
        return self.post("/company/companies", {"name": name, **fields})

    def contact(self, company: dict[str, Any], first: str, last: str, email: str = "",
                *, billing: bool = False) -> dict[str, Any]:  # fmt: skip
        items = [{"type": {"id": 1, "name": "Email"}, "value": email,
                  "communicationType": "Email", "defaultFlag": True}] if email else []  # fmt: skip
        return self.post("/company/contacts", {
            "firstName": first, "lastName": last, "company": {"id": company["id"]},
            "defaultBillingFlag": billing, "communicationItems": items,
        })  # fmt: skip

    def invoice(self, company: dict[str, Any], total: str | Decimal, **fields: Any) -> dict:
        body = {
            "type": "Standard",
            "company": {"id": company["id"]},
            "total": Decimal(total),
            "date": "2026-03-01T00:00:00Z",
            "dueDate": "2026-03-31T00:00:00Z",
            **fields,
        }
        return self.post("/finance/invoices", body)

    def product(self, invoice: dict[str, Any], item: str, quantity: str | int,
                price: str, description: str = "") -> dict[str, Any]:  # fmt: skip
        """Bill a product on an invoice: one of its lines."""
        return self.post("/procurement/products", {
            "catalogItem": {"identifier": item}, "description": description or item,
            "quantity": Decimal(str(quantity)), "price": Decimal(price),
            "invoice": {"id": invoice["id"]},
        })  # fmt: skip

    def pay(self, invoice: dict[str, Any], amount: str, source: str = "") -> dict[str, Any]:
        body = {"type": "Payment", "amount": Decimal(amount),
                "paymentDate": "2026-03-02T00:00:00Z", "source": source}  # fmt: skip
        return self.post(f"/finance/invoices/{invoice['id']}/payments", body)
