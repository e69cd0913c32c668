"""Seeding a company with an MSP's books, through the API or straight into the store."""

from collections import defaultdict
from decimal import Decimal

from arbridge.sandbox.qbo import seed
from arbridge.sandbox.qbo.wire import loads


def everything(qbo, entity: str) -> list[dict]:
    found, start = [], 1
    while page := qbo.query(f"SELECT * FROM {entity} STARTPOSITION {start} MAXRESULTS 1000"):  # noqa: S608
        found += page[entity]
        start += 1000
    return found


def test_seeding_through_the_api_creates_what_it_reports(qbo, realm):
    made = seed(qbo.http, realm, customers=4, invoices=12, credit_memos=2, deposits=1)

    assert made == {"customers": 4, "invoices": 12, "payments": 3, "credit_memos": 2, "deposits": 1}
    assert len(everything(qbo, "Customer")) == 4
    assert len(everything(qbo, "Invoice")) == 12
    accounts = {a["Name"] for a in everything(qbo, "Account")}
    assert {"Undeposited Funds", "Business Checking", "Merchant Fees"} <= accounts
    items = {i["Name"] for i in everything(qbo, "Item")}
    assert "Managed Services - Per Device" in items


def test_the_same_seed_gives_the_same_company(sandbox):
    first, second = sandbox.store.add_realm(), sandbox.store.add_realm()
    seed(sandbox.store, first, customers=5, invoices=20)
    seed(sandbox.store, second, customers=5, invoices=20)

    def invoices(realm):
        page = loads(sandbox.store.query(realm, "SELECT * FROM Invoice MAXRESULTS 1000"))
        return [(i["DocNumber"], i["CustomerRef"]["name"], i["TotalAmt"]) for i in page["Invoice"]]

    assert invoices(first) == invoices(second)


def test_seeded_books_balance(sandbox, qbo, realm):
    seed(sandbox.store, realm, customers=30, invoices=300, credit_memos=10)

    invoices, payments = everything(qbo, "Invoice"), everything(qbo, "Payment")
    applied = defaultdict(Decimal)
    for payment in payments:
        for line in payment["Line"]:
            applied[line["LinkedTxn"][0]["TxnId"]] += line["Amount"]
    for invoice in invoices:
        assert 0 <= invoice["Balance"] <= invoice["TotalAmt"]
        assert invoice["Balance"] == invoice["TotalAmt"] - applied[invoice["Id"]]
    assert any(0 < i["Balance"] < i["TotalAmt"] for i in invoices), "some are part paid"

    owed = defaultdict(Decimal)
    for invoice in invoices:
        owed[invoice["CustomerRef"]["value"]] += invoice["Balance"]
    for memo in everything(qbo, "CreditMemo"):
        owed[memo["CustomerRef"]["value"]] -= memo["Balance"]
    for payment in payments:
        owed[payment["CustomerRef"]["value"]] -= payment["UnappliedAmt"]
    for customer in everything(qbo, "Customer"):
        assert customer["Balance"] == owed[customer["Id"]]

    deposited = sum(
        (
            line["Amount"]
            for d in everything(qbo, "Deposit")
            for line in d["Line"]
            if "LinkedTxn" in line
        ),
        Decimal(0),
    )
    received = sum((p["TotalAmt"] for p in payments), Decimal(0))
    undeposited = qbo.query("SELECT * FROM Account WHERE Name = 'Undeposited Funds'")["Account"][0]
    assert deposited > 0
    assert undeposited["CurrentBalance"] == received - deposited


def test_the_control_api_seeds_a_company(control, qbo, realm):
    response = control.post(
        "/_sandbox/seed", json={"realm_id": realm, "customers": 3, "invoices": 8}
    )

    assert response.status_code == 200
    assert response.json()["invoices"] == 8
    assert len(everything(qbo, "Invoice")) == 8
