"""The figures in the REST API, with the partner's API key."""

import pytest
from django.test import Client

from arbridge.core.models import ApiKey


@pytest.fixture
def api(partner, alice) -> Client:
    _, raw = ApiKey.issue(partner, "reporting", created_by=alice)
    return Client(headers={"Authorization": f"Bearer {raw}"})


def test_figures_per_currency(api, book, written_back, today):
    body = api.get("/api/v1/figures?days=90").json()
    assert body["period"] == {"start": "2025-01-16", "end": "2025-04-15"}
    usd = {c["currency"]: c for c in body["currencies"]}["USD"]
    assert usd["outstanding"] == "2400.00"
    assert {b["bucket"]: (b["amount"], b["count"]) for b in usd["aging"]} == {
        "current": ("1000.00", 1),
        "1-30": ("300.00", 1),
        "31-60": ("700.00", 1),
        "61-90": ("0.00", 0),
        "90+": ("400.00", 1),
    }
    assert (usd["dso_simple"], usd["dso_countback"]) == ("102.9", "85.6")
    assert (usd["overdue_rate"], usd["unpaid_count"], usd["overdue_count"]) == ("75.0", 4, 3)
    # Invoiced Jan 16 to Apr 15: A, B, G; collected G (auto pay) and B's 200.
    assert (usd["invoiced"], usd["collected"], usd["collected_by_autopay"]) == (
        "2100.00",
        "800.00",
        "600.00",
    )
    assert usd["autopay_share"] == "75.0"
    assert usd["average_days_to_pay"] == "38.8"
    assert body["reclaimed"] == {
        "payments_written_back": 3,
        "deposits_written_back": 1,
        "minutes_per_entry": 5,
        "hours": "0.3",
    }
    eur = {c["currency"]: c for c in body["currencies"]}["EUR"]
    assert eur["outstanding"] == "250.00" and eur["overdue_rate"] == "0.0"


def test_series_by_month(api, book, today):
    body = api.get("/api/v1/figures/series?grain=month&count=3").json()
    usd = {s["currency"]: s for s in body["series"]}["USD"]
    assert [p["period"]["start"] for p in usd["points"]] == [
        "2025-02-01",
        "2025-03-01",
        "2025-04-01",
    ]
    assert [p["invoiced"] for p in usd["points"]] == ["600.00", "500.00", "1000.00"]
    assert [p["owed_at_end"] for p in usd["points"]] == ["1800.00", "1600.00", "2400.00"]
    assert usd["points"][-1]["dso_countback"] == "85.6"


def test_aging_per_customer(api, book, today):
    rows = api.get("/api/v1/figures/aging?currency=usd").json()["items"]
    assert [(r["customer_name"], r["total"]) for r in rows] == [
        ("Globex", "1300.00"),
        ("Initech", "1100.00"),
    ]


def test_unknown_parameters_and_bad_values_are_refused(api, book):
    assert api.get("/api/v1/figures?dayz=30").status_code == 422
    assert api.get("/api/v1/figures/series?grain=year").status_code == 422


def test_without_a_key_nothing(client, book):
    assert client.get("/api/v1/figures").status_code == 401
