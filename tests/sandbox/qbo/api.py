"""A client of one sandbox company's v3 API, as a connector calls it."""

from decimal import Decimal
from typing import Any

import httpx

from arbridge.sandbox.qbo import QuickBooksSandbox
from arbridge.sandbox.qbo.wire import dumps, loads


class QBO:
    """The v3 API of one company: JSON with Decimal amounts, paths below the company."""

    def __init__(self, sandbox: QuickBooksSandbox, realm: str, access_token: str):
        self.realm = realm
        self.http = httpx.Client(
            transport=httpx.WSGITransport(app=sandbox),
            base_url="http://qbo.test",
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        )

    def post(self, path: str, body: Any, **params: Any) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        return self.http.post(
            f"/v3/company/{self.realm}/{path}", content=dumps(body), params=params, headers=headers
        )

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(f"/v3/company/{self.realm}/{path}", params=params)

    def write(self, entity: str, body: dict, **params: Any) -> dict:
        """Create, update, delete or void (by params); return the entity answered."""
        response = self.post(entity.lower(), body, **params)
        assert response.status_code == 200, response.text
        return loads(response.content)[entity]

    create = write

    def read(self, entity: str, id: str) -> dict:
        response = self.get(f"{entity.lower()}/{id}")
        assert response.status_code == 200, response.text
        return loads(response.content)[entity]

    def query(self, text: str) -> dict:
        response = self.get("query", query=text)
        assert response.status_code == 200, response.text
        return loads(response.content)["QueryResponse"]

    def customer(self, name: str = "Summit Dental Group", **fields: Any) -> dict:
        return self.create("Customer", {"DisplayName": name, **fields})

    def invoice(self, customer: dict, *amounts: str, entity: str = "Invoice", **fields) -> dict:
        """Bill a customer one "Services" line per amount (or credit them: CreditMemo)."""
        lines = [
            {"Amount": Decimal(amount), "DetailType": "SalesItemLineDetail"} for amount in amounts
        ]
        body = {"CustomerRef": {"value": customer["Id"]}, "Line": lines, **fields}
        return self.create(entity, body)

    def pay(self, customer: dict, amount: str, *applied: tuple[str, dict, str], **fields) -> dict:
        """Receive a payment, applying parts of it: ("Invoice", invoice, "60.00")."""
        lines = [
            {"Amount": Decimal(part), "LinkedTxn": [{"TxnId": txn["Id"], "TxnType": kind}]}
            for kind, txn, part in applied
        ]
        body = {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": Decimal(amount)}
        return self.create("Payment", {**body, "Line": lines, **fields})


def connect(sandbox: QuickBooksSandbox, realm: str) -> QBO:
    """Return a client of a company with a freshly minted access token."""
    return QBO(sandbox, realm, sandbox.store.issue_token(realm)["access_token"])


def fault(response: httpx.Response) -> dict:
    """Return the first error of a fault, in the service's shape or the gateway's."""
    body = loads(response.content)
    errors = body["Fault"]["Error"] if "Fault" in body else body["fault"]["error"]
    return errors[0]
