"""The sandbox's zones, auth headers, queries, paging, writes and threshold."""

from decimal import Decimal

import httpx
import pytest

from arbridge.sandbox.autotask import Store, create_app
from arbridge.sandbox.autotask.app import USERNAME, parse_json
from tests.sandbox.autotask.api import HEADERS, ROOT, Autotask, control

ALL = {"op": "gte", "field": "id", "value": 0}


def test_zone_information_names_the_zone_and_the_database(sandbox):
    answer = control(sandbox).get("/ATServicesRest/V1.0/ZoneInformation", params={"user": USERNAME})

    assert answer.status_code == 200
    assert answer.json()["url"] == f"{ROOT}/zone1/atservicesrest/"
    assert answer.json()["ci"] == sandbox.store.database


def test_zone_information_knows_no_stranger(sandbox):
    answer = control(sandbox).get(
        "/atservicesrest/v1.0/ZoneInformation", params={"user": "who@else.example"}
    )

    assert answer.status_code == 404


@pytest.mark.parametrize("header", ["ApiIntegrationCode", "UserName", "Secret"])
def test_each_auth_header_is_required(autotask, header):
    autotask.api.headers[header] = "wrong"

    answer = autotask.query("Companies", ALL)

    assert answer.status_code == 401
    assert answer.json() == {"errors": ["Unauthorized"]}


def test_a_query_pages_past_500_records(autotask, sandbox):
    for n in range(1, 1203):
        sandbox.store.create("companies", {"companyName": f"Company {n}"})

    first = autotask.query("Companies", ALL).json()
    second = autotask.api.get(first["pageDetails"]["nextPageUrl"]).json()
    third = autotask.api.get(second["pageDetails"]["nextPageUrl"]).json()

    assert [page["pageDetails"]["count"] for page in (first, second, third)] == [500, 500, 202]
    assert first["pageDetails"]["prevPageUrl"] is None
    assert third["pageDetails"]["nextPageUrl"] is None
    back = autotask.api.get(third["pageDetails"]["prevPageUrl"]).json()
    assert back["items"] == second["items"]
    names = [c["companyName"] for page in (first, second, third) for c in page["items"]]
    assert names == [f"Company {n}" for n in range(1, 1203)]


def test_include_fields_must_include_id(autotask):
    autotask.company("Bluebird Dental")

    refused = autotask.query("Companies", ALL, IncludeFields=["companyName"])
    allowed = autotask.query("Companies", ALL, IncludeFields=["id"])

    assert refused.status_code == 500
    assert allowed.json()["items"] == [{"id": 1}]


def test_filters_combine_with_and_or(autotask):
    bluebird = autotask.company("Bluebird Dental")
    harbor = autotask.company("Harbor Logistics")
    autotask.invoice(bluebird, "100.00", invoiceNumber="A-1")
    autotask.invoice(harbor, "250.50", invoiceNumber="A-2")
    autotask.invoice(harbor, "80.00", invoiceNumber="A-3")

    either = {
        "op": "or",
        "items": [
            {"op": "eq", "field": "invoiceNumber", "value": "a-1"},
            {"op": "gt", "field": "invoiceTotal", "value": 200},
        ],
    }
    found = parse_json(autotask.query("Invoices", either).content)["items"]
    harbors = autotask.query("Invoices", {"op": "in", "field": "companyID", "value": [harbor]})

    assert [(i["invoiceNumber"], i["invoiceTotal"]) for i in found] == [
        ("A-1", Decimal("100.00")),
        ("A-2", Decimal("250.50")),
    ]
    assert [i["invoiceNumber"] for i in harbors.json()["items"]] == ["A-2", "A-3"]


def test_a_get_query_takes_the_filter_in_search(autotask):
    autotask.company("Bluebird Dental")
    autotask.company("Harbor Logistics")
    search = '{"filter":[{"op":"beginsWith","field":"companyname","value":"harb"}]}'

    answer = autotask.api.get("Companies/query", params={"search": search})

    assert [c["companyName"] for c in answer.json()["items"]] == ["Harbor Logistics"]


def test_an_unknown_operator_is_refused(autotask):
    answer = autotask.query("Companies", {"op": "near", "field": "id", "value": 1})

    assert answer.status_code == 500
    assert "near" in answer.json()["errors"][0]


def test_patching_an_invoice_sets_its_paid_date_and_nothing_read_only(autotask):
    company = autotask.company("Bluebird Dental")
    invoice = autotask.invoice(company, "100.00")

    paid = autotask.api.patch(
        "Invoices", json={"id": invoice["id"], "paidDate": "2026-03-02T00:00:00Z"}
    )
    refused = autotask.api.patch("Invoices", json={"id": invoice["id"], "invoiceTotal": 1})
    missing = autotask.api.patch("Invoices", json={"id": 999, "paidDate": None})

    assert paid.status_code == 200
    assert autotask.get("Invoices", invoice["id"])["paidDate"] == "2026-03-02T00:00:00Z"
    assert autotask.get("Invoices", invoice["id"])["invoiceTotal"] == Decimal("100.00")
    assert refused.status_code == 500
    assert missing.status_code == 404


def test_an_id_it_does_not_hold_answers_a_null_item(autotask):
    assert autotask.get("Invoices", 41) is None


def test_invoices_cannot_be_made_through_the_api(autotask):
    company = autotask.company("Bluebird Dental")

    answer = autotask.api.post("Invoices", json={"companyID": company, "invoiceTotal": 1})

    assert answer.status_code == 405


def test_past_the_hourly_threshold_calls_are_blocked_until_the_hour_moves_on(clock):
    sandbox = create_app(Store(clock=clock), requests_per_hour=3)
    autotask = Autotask(sandbox)

    answers = [autotask.query("Companies", ALL).status_code for _ in range(4)]
    clock.advance(minutes=61)
    later = autotask.query("Companies", ALL)

    assert answers == [200, 200, 200, 429]
    assert later.status_code == 200
    assert control(sandbox).get("/_sandbox/stats").json()["blocked"] == 1


def test_latency_is_added_as_the_hour_fills(clock):
    waits: list[float] = []
    sandbox = create_app(
        Store(clock=clock), requests_per_hour=4, added_latency=True, sleep=waits.append
    )
    autotask = Autotask(sandbox)

    for _ in range(4):
        autotask.query("Companies", ALL)

    assert waits == [0.5, 1.0]


def test_fault_switches_fail_calls_and_count_them(sandbox, autotask):
    faults = {"error_rate": 1.0, "error_kinds": ["503"], "seed": 1}
    control(sandbox).post("/_sandbox/faults", json=faults).raise_for_status()

    answer = autotask.query("Companies", ALL)

    assert answer.status_code == 503
    assert control(sandbox).get("/_sandbox/stats").json()["failed"] == 1


def test_bad_fault_settings_are_refused(sandbox):
    answer = control(sandbox).post("/_sandbox/faults", json={"error_rate": 2})

    assert answer.status_code == 400


def test_the_seed_makes_companies_contacts_and_invoices(clock):
    from arbridge.sandbox.autotask import seed

    store = Store(clock=clock)
    seed(store, invoices_per_company=2)
    autotask = Autotask(create_app(store))

    assert len(autotask.query("Companies", ALL).json()["items"]) == 4
    assert len(autotask.query("Contacts", ALL).json()["items"]) == 4
    assert len(autotask.query("Invoices", ALL).json()["items"]) == 8


def test_it_serves_real_http_paths_case_insensitively(sandbox):
    client = httpx.Client(transport=httpx.WSGITransport(app=sandbox), base_url=ROOT)

    answer = client.post(
        "/ZONE1/ATServicesRest/V1.0/companies/QUERY", json={"filter": [ALL]}, headers=HEADERS
    )

    assert answer.status_code == 200
