"""An Autotask sandbox from outside: its API user and the person who runs billing in it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from arbridge.sandbox.autotask import AutotaskSandbox
from arbridge.sandbox.autotask.app import INTEGRATION_CODE, SECRET, USERNAME, dumps, parse_json
from tests.sandbox.clock import T0, Clock  # noqa: F401 (Clock: for the tests that import it here)

ROOT = "http://autotask.test"
HEADERS = {"ApiIntegrationCode": INTEGRATION_CODE, "UserName": USERNAME, "Secret": SECRET}


def control(sandbox: AutotaskSandbox) -> httpx.Client:
    """Return a client of the sandbox with no auth headers: zones and /_sandbox/."""
    return httpx.Client(transport=httpx.WSGITransport(app=sandbox), base_url=ROOT)


class Autotask:
    """The database's API as its API user sees it, and its billing person's screens."""

    def __init__(self, sandbox: AutotaskSandbox) -> None:
        self.sandbox = sandbox
        self.http = control(sandbox)
        zone = self.http.get("/atservicesrest/v1.0/ZoneInformation", params={"user": USERNAME})
        self.api = httpx.Client(
            transport=httpx.WSGITransport(app=sandbox),
            base_url=zone.json()["url"] + "V1.0/",
            headers=HEADERS,
        )

    def query(self, entity: str, *filters: dict[str, Any], **query: Any) -> httpx.Response:
        return self.api.post(f"{entity}/query", json={"filter": list(filters), **query})

    def create(self, entity: str, **fields: Any) -> int:
        response = self.api.post(entity, json=fields)
        response.raise_for_status()
        return response.json()["itemId"]

    def company(self, name: str) -> int:
        return self.create("Companies", companyName=name)

    def invoice(self, company_id: int, total: Decimal | str, **fields: Any) -> dict[str, Any]:
        """Run billing for a company: one invoice of this total."""
        body = {"companyID": company_id, "invoiceTotal": str(total), **fields}
        response = self.http.post("/_sandbox/invoices", content=_with_numbers(body))
        response.raise_for_status()
        return parse_json(response.content)

    def billing_item(self, invoice: dict[str, Any], item: str, quantity: str, rate: str) -> dict:
        """Approve and post work to an invoice: one billing item, one of its lines."""
        body = {"invoiceID": invoice["id"], "itemName": item, "description": item,
                "quantity": Decimal(quantity), "rate": Decimal(rate)}  # fmt: skip
        response = self.http.post("/_sandbox/billingitems", content=dumps(body))
        response.raise_for_status()
        return parse_json(response.content)

    def change(self, entity: str, id: int, **fields: Any) -> None:
        self.http.patch(
            f"/_sandbox/{entity}/{id}", content=_with_numbers(fields)
        ).raise_for_status()

    def delete(self, entity: str, id: int) -> None:
        self.http.delete(f"/_sandbox/{entity}/{id}").raise_for_status()

    def get(self, entity: str, id: int) -> dict[str, Any] | None:
        response = self.api.get(f"{entity}/{id}")
        response.raise_for_status()
        return parse_json(response.content)["item"]


def _with_numbers(fields: dict[str, Any]) -> str:
    """Return JSON with invoiceTotal as a bare number, as Autotask writes doubles."""
    return dumps({k: Decimal(v) if k == "invoiceTotal" else v for k, v in fields.items()})
