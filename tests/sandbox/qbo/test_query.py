"""The query language subset, paging, and change data capture."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from tests.sandbox.qbo.api import fault


@pytest.fixture
def invoices(qbo):
    """Twelve invoices for three customers, 100.00 to 1,200.00, numbered 1001 on."""
    customers = [qbo.customer(name) for name in ("Cedar Dental", "Harbor Law", "Granite Realty")]
    return [
        qbo.invoice(customers[n % 3], f"{(n + 1) * 100}.00", TxnDate=f"2026-01-{n + 1:02d}")
        for n in range(12)
    ]


def ids(found: list[dict]) -> list[str]:
    return [entity["Id"] for entity in found]


def test_it_pages_with_startposition_and_maxresults(qbo, invoices):
    first = qbo.query("SELECT * FROM Invoice ORDERBY Id STARTPOSITION 1 MAXRESULTS 5")
    last = qbo.query("select * from invoice orderby id startposition 11 maxresults 5")

    assert ids(first["Invoice"]) == ids(invoices[:5])
    assert first["startPosition"] == 1 and first["maxResults"] == 5
    assert ids(last["Invoice"]) == ids(invoices[10:])
    assert last["maxResults"] == 2


def test_a_page_past_the_end_is_empty(qbo, invoices):
    assert qbo.query("SELECT * FROM Invoice STARTPOSITION 100") == {}


def test_it_counts(qbo, invoices):
    assert qbo.query("SELECT COUNT(*) FROM Invoice") == {"totalCount": 12}


def test_it_filters_with_comparisons_joined_by_and(qbo, invoices):
    found = qbo.query(
        "SELECT * FROM Invoice WHERE TotalAmt >= '300' AND TotalAmt < '600' "
        "AND TxnDate > '2026-01-03'"
    )["Invoice"]

    assert [i["TotalAmt"] for i in found] == [Decimal("400.00"), Decimal("500.00")]


def test_it_filters_with_in_and_by_reference(qbo, invoices):
    customer = invoices[1]["CustomerRef"]["value"]

    by_number = qbo.query("SELECT * FROM Invoice WHERE DocNumber IN ('1002', '1004', '9999')")
    by_customer = qbo.query(f"SELECT * FROM Invoice WHERE CustomerRef = '{customer}'")  # noqa: S608

    assert [i["DocNumber"] for i in by_number["Invoice"]] == ["1002", "1004"]
    assert ids(by_customer["Invoice"]) == ids(invoices[1::3])


def test_it_filters_with_like(qbo, invoices):
    found = qbo.query("SELECT * FROM Customer WHERE DisplayName LIKE '%dent%'")["Customer"]

    assert [c["DisplayName"] for c in found] == ["Cedar Dental"]


def test_it_orders_descending(qbo, invoices):
    found = qbo.query("SELECT * FROM Invoice ORDERBY TotalAmt DESC MAXRESULTS 3")["Invoice"]

    assert [i["TotalAmt"] for i in found] == [
        Decimal("1200.00"),
        Decimal("1100.00"),
        Decimal("1000.00"),
    ]


def test_it_filters_and_orders_by_last_updated_time(qbo, invoices):
    touched = invoices[2]
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5), tick=False):
        qbo.write(
            "Invoice",
            {"Id": touched["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "late"},
        )
        cutoff = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat()

    found = qbo.query(
        f"SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime > '{cutoff}' "  # noqa: S608
        "ORDERBY MetaData.LastUpdatedTime"
    )["Invoice"]
    newest = qbo.query("SELECT * FROM Invoice ORDERBY MetaData.LastUpdatedTime DESC MAXRESULTS 1")

    assert ids(found) == [touched["Id"]]
    assert ids(newest["Invoice"]) == [touched["Id"]]


def test_it_selects_fields(qbo, invoices):
    found = qbo.query("SELECT DocNumber, TotalAmt FROM Invoice MAXRESULTS 1")["Invoice"][0]

    assert set(found) == {"Id", "DocNumber", "TotalAmt", "domain", "sparse"}
    assert found["sparse"] is True


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("SELECT * FROM Invoice WHERE TotalAmt > '1' OR TotalAmt < '0'", "4000"),
        ("SELECT * FROM Invoice WHERE", "4000"),
        ("DELETE FROM Invoice", "4000"),
        ("SELECT * FROM Invoice WHERE Color = 'red'", "4001"),
        ("SELECT * FROM Spaceship", "4001"),
        ("SELECT * FROM Invoice WHERE TotalAmt > 'lots'", "4001"),
    ],
)
def test_it_refuses_what_quickbooks_does_not_understand(qbo, text, code):
    response = qbo.get("query", query=text)

    assert response.status_code == 400
    assert fault(response)["code"] == code


def test_it_takes_a_query_as_a_text_body(qbo, invoices):
    response = qbo.http.post(
        f"/v3/company/{qbo.realm}/query",
        content="SELECT * FROM Invoice MAXRESULTS 2",
        headers={"Content-Type": "application/text"},
    )

    assert response.status_code == 200
    assert len(response.json()["QueryResponse"]["Invoice"]) == 2


def test_change_data_capture_reports_changes_and_deletes(qbo):
    start = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        customer = qbo.customer()
        kept = qbo.invoice(customer, "10.00")
        gone = qbo.invoice(customer, "20.00")
        clock.shift(dt.timedelta(hours=1))
        since = dt.datetime.now(dt.UTC).isoformat()
        qbo.write("Invoice", {"Id": gone["Id"], "SyncToken": "0"}, operation="delete")
        qbo.write(
            "Invoice", {"Id": kept["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "x"}
        )

        response = qbo.get("cdc", entities="Invoice,Customer", changedSince=since)

    assert response.status_code == 200
    invoices, customers = response.json()["CDCResponse"][0]["QueryResponse"]
    assert customers == {}
    assert [i["Id"] for i in invoices["Invoice"]] == [kept["Id"], gone["Id"]]
    tombstone = invoices["Invoice"][1]
    assert tombstone["status"] == "Deleted"
    assert set(tombstone) == {"domain", "status", "Id", "MetaData"}
    assert invoices["Invoice"][0]["PrivateNote"] == "x"


def test_change_data_capture_looks_back_thirty_days_at_most(qbo):
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=31)).isoformat()

    response = qbo.get("cdc", entities="Invoice", changedSince=since)

    assert response.status_code == 400


def test_change_data_capture_answers_at_most_a_thousand_objects(sandbox, qbo, realm):
    customer = qbo.customer()
    lines = [{"Amount": Decimal("1.00"), "DetailType": "SalesItemLineDetail"}]
    for _ in range(1001):  # Straight into the store: the API would throttle this.
        sandbox.store.add(
            realm, "Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": lines}
        )
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()

    response = qbo.get("cdc", entities="Customer,Invoice", changedSince=since)

    customers, invoices = response.json()["CDCResponse"][0]["QueryResponse"]
    assert len(customers["Customer"]) + len(invoices["Invoice"]) == 1000
