"""The batch endpoint: items answered one by one, replay by requestid, its own throttle."""

import datetime as dt
from decimal import Decimal

import time_machine

from arbridge.sandbox.qbo import create_app
from arbridge.sandbox.qbo.wire import loads
from tests.sandbox.qbo.api import connect, fault


def payment(customer: dict, invoice: dict, amount: str) -> dict:
    line = {
        "Amount": Decimal(amount),
        "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}],
    }
    return {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": Decimal(amount), "Line": [line]}


def items(response) -> dict[str, dict]:
    assert response.status_code == 200, response.text
    return {item["bId"]: item for item in loads(response.content)["BatchItemResponse"]}


def test_a_batch_creates_and_deletes_payments_and_faults_only_the_bad_item(qbo):
    customer = qbo.customer()
    first, second = qbo.invoice(customer, "100.00"), qbo.invoice(customer, "40.00")
    old = qbo.create("Payment", payment(customer, second, "40.00"))
    batch = [
        {"bId": "a", "operation": "create", "Payment": payment(customer, first, "100.00")},
        {"bId": "b", "operation": "create", "Payment": {"TotalAmt": 5}},  # no customer
        {"bId": "c", "operation": "delete", "Payment": {"Id": old["Id"], "SyncToken": "0"}},
        {"bId": "d", "Query": f"select * from Invoice where Id = '{first['Id']}'"},  # noqa: S608
    ]

    answered = items(qbo.post("batch", {"BatchItemRequest": batch}))

    assert answered["a"]["Payment"]["TotalAmt"] == Decimal("100.00")
    assert answered["b"]["Fault"]["type"] == "ValidationFault"
    assert answered["b"]["Fault"]["Error"][0]["code"] == "2020"
    assert answered["c"]["Payment"]["status"] == "Deleted"
    assert answered["d"]["QueryResponse"]["Invoice"][0]["Balance"] == 0  # item a ran first
    payments = qbo.query("select * from Payment")["Payment"]
    assert [p["Id"] for p in payments] == [answered["a"]["Payment"]["Id"]]
    assert qbo.read("Invoice", second["Id"])["Balance"] == Decimal("40.00")


def test_a_repeated_requestid_replays_the_whole_batch_and_writes_once(qbo):
    customer = qbo.customer()
    invoices = [qbo.invoice(customer, "10.00") for _ in range(3)]
    batch = {
        "BatchItemRequest": [
            {"bId": str(n), "operation": "create", "Payment": payment(customer, invoice, "10.00")}
            for n, invoice in enumerate(invoices)
        ]
    }

    first = qbo.post("batch", batch, requestid="arbridge-batch-7")
    again = qbo.post("batch", batch, requestid="arbridge-batch-7")

    assert again.content == first.content
    assert len(items(first)) == 3
    assert len(qbo.query("select * from Payment")["Payment"]) == 3

    # A new id is a new request.
    fourth = qbo.invoice(customer, "10.00")
    new = [{"bId": "0", "operation": "create", "Payment": payment(customer, fourth, "10.00")}]
    assert "Payment" in items(qbo.post("batch", {"BatchItemRequest": new}, requestid="b8"))["0"]
    assert len(qbo.query("select * from Payment")["Payment"]) == 4


def test_more_than_30_items_are_refused_and_nothing_is_written(qbo):
    batch = [
        {"bId": str(n), "operation": "create", "Customer": {"DisplayName": f"Client {n}"}}
        for n in range(31)
    ]

    refused = qbo.post("batch", {"BatchItemRequest": batch})
    accepted = qbo.post("batch", {"BatchItemRequest": batch[:30]})

    assert refused.status_code == 400
    assert "at most 30" in fault(refused)["Detail"]
    assert len(items(accepted)) == 30
    assert qbo.query("select count(*) from Customer")["totalCount"] == 30


def test_malformed_batches_are_refused(qbo):
    assert qbo.post("batch", {}).status_code == 400
    duplicate = [{"bId": "1", "Query": "select * from Term"}] * 2
    assert fault(qbo.post("batch", {"BatchItemRequest": duplicate}))["element"] == "bId"
    unknown = {"BatchItemRequest": [{"bId": "1", "operation": "merge", "Customer": {}}]}
    assert items(qbo.post("batch", unknown))["1"]["Fault"]["Error"][0]["code"] == "500"


def test_40_batches_a_minute_per_company_and_app_then_429_while_single_calls_go_on():
    sandbox = create_app(webhook_interval=None)
    realm = sandbox.store.add_realm()
    qbo = connect(sandbox, realm)
    query = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Term"}]}
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        statuses = [qbo.post("batch", query).status_code for _ in range(40)]
        throttled = qbo.post("batch", query)

        assert set(statuses) == {200}
        assert throttled.status_code == 429
        assert "40 batches a minute" in fault(throttled)["detail"]
        assert qbo.get(f"companyinfo/{realm}").status_code == 200

        clock.shift(dt.timedelta(seconds=61))
        assert qbo.post("batch", query).status_code == 200

    stats = sandbox.limiter.report()["realms"][realm]
    assert stats["requests"] == 43  # every batch is one of the 500 a minute too
    assert stats["throttled"] == 1


def test_120_batches_a_minute_per_company_whatever_the_app():
    sandbox = create_app(webhook_interval=None)
    realm = sandbox.store.add_realm()
    apps = []
    for n in range(4):
        sandbox.store.auth.register_client(f"app-{n}", "secret")
        token = sandbox.store.auth.issue(realm, f"app-{n}")["access_token"]
        apps.append(connect(sandbox, realm))
        apps[-1].http.headers["Authorization"] = f"Bearer {token}"
    query = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Term"}]}
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=False):
        statuses = [app.post("batch", query).status_code for app in apps[:3] for _ in range(40)]
        fourth = apps[3].post("batch", query)

    assert set(statuses) == {200}
    assert fourth.status_code == 429
    assert "120 batches a minute" in fault(fourth)["detail"]
