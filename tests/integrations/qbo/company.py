"""A sandbox QuickBooks company, worked in through the v3 API as its bookkeeper would."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from arbridge.connectors.http import raise_for_status
from arbridge.sandbox.qbo import QuickBooksSandbox
from arbridge.sandbox.qbo.wire import dumps, loads


class Company:
    def __init__(self, sandbox: QuickBooksSandbox, realm: str) -> None:
        token = sandbox.store.issue_token(realm, ttl=None)
        self.sandbox = sandbox
        self.realm = realm
        self.http = httpx.Client(
            transport=httpx.WSGITransport(app=sandbox),
            base_url=f"http://qbo.test/v3/company/{realm}/",
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
        """Change some fields of an object: a sparse update at its latest SyncToken."""
        token = self.read(entity, id)["SyncToken"]
        return self.post(entity, {"Id": id, "SyncToken": token, "sparse": True, **fields})

    def delete(self, entity: str, id: str) -> dict[str, Any]:
        token = self.read(entity, id)["SyncToken"]
        return self.post(entity, {"Id": id, "SyncToken": token}, operation="delete")

    def void(self, entity: str, id: str) -> dict[str, Any]:
        token = self.read(entity, id)["SyncToken"]
        return self.post(entity, {"Id": id, "SyncToken": token}, operation="void")

    # -- what an MSP's bookkeeper does ------------------------------------------------

    def customer(self, name: str, email: str | None = None, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"DisplayName": name, **fields}
        if email is not None:
            body["PrimaryEmailAddr"] = {"Address": email}
        return self.post("Customer", body)

    def invoice(self, customer: dict[str, Any], *amounts: str, **fields: Any) -> dict[str, Any]:
        """Bill a customer one line per amount."""
        body = {"CustomerRef": {"value": customer["Id"]}, "Line": lines(amounts), **fields}
        return self.post("Invoice", body)

    def pay(self, invoice: dict[str, Any], amount: str, **fields: Any) -> dict[str, Any]:
        """Record a payment received against an invoice."""
        line = {
            "Amount": Decimal(amount),
            "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}],
        }
        body = {"CustomerRef": invoice["CustomerRef"], "TotalAmt": Decimal(amount), "Line": [line]}
        return self.post("Payment", {**body, **fields})

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
