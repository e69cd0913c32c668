"""The SuperOps sandbox's GraphQL API: as SuperOps' documentation describes it."""

import datetime as dt

import httpx
import pytest

from arbridge.sandbox.superops import SUBDOMAIN, TOKEN, create_app
from arbridge.sandbox.superops.app import Clock

HEADERS = {"Authorization": f"Bearer {TOKEN}", "CustomerSubDomain": SUBDOMAIN}
INVOICES = """query getInvoiceList($input: ListInfoInput!) {
  getInvoiceList(input: $input) { invoices { invoiceId totalAmount amountDue }
                                  listInfo { page pageSize hasMore totalCount } } }"""


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sandbox(clock):
    app = create_app(clock=clock)
    app.sleep = lambda _: None
    client = app.store.client(SUBDOMAIN, "Bluebird Dental")
    for number in range(25):
        app.store.invoice(SUBDOMAIN, client["accountId"], [("Support", 1, f"{number + 1}.25")])
    return app


@pytest.fixture
def api(sandbox):
    return httpx.Client(transport=httpx.WSGITransport(app=sandbox), base_url="http://so.test")


def ask(api, query, variables=None, headers=HEADERS):
    return api.post("/msp", json={"query": query, "variables": variables or {}}, headers=headers)


def test_lists_page_by_list_info_until_has_more_is_false(api):
    first = ask(api, INVOICES, {"input": {"page": 1, "pageSize": 10}}).json()["data"]
    last = ask(api, INVOICES, {"input": {"page": 3, "pageSize": 10}}).json()["data"]
    assert first["getInvoiceList"]["listInfo"] == {
        "page": 1, "pageSize": 10, "hasMore": True, "totalCount": 25,
    }  # fmt: skip
    assert len(last["getInvoiceList"]["invoices"]) == 5
    assert last["getInvoiceList"]["listInfo"]["hasMore"] is False


def test_amounts_are_exact_decimal_strings(api):
    data = ask(api, INVOICES, {"input": {"page": 1, "pageSize": 1}}).json()["data"]
    assert data["getInvoiceList"]["invoices"][0]["totalAmount"] == "1.25"


def test_a_condition_on_updated_time_lists_only_what_changed(sandbox, api):
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)).isoformat()
    [invoice] = list(sandbox.store.account(SUBDOMAIN).invoices.values())[:1]
    invoice["updatedTime"] = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    condition = {"attribute": "updatedTime", "operator": "greaterThan", "value": later}
    data = ask(api, INVOICES, {"input": {"page": 1, "pageSize": 100, "condition": condition}})
    assert [i["invoiceId"] for i in data.json()["data"]["getInvoiceList"]["invoices"]] == [
        invoice["invoiceId"]
    ]


def test_a_query_the_schema_does_not_have_is_refused_in_errors(api):
    answer = ask(api, "{ getInvoiceList(input: {}) { invoices { noSuchField } } }").json()
    assert answer["data"] is None
    assert "noSuchField" in answer["errors"][0]["message"]


def test_a_page_larger_than_100_is_refused(api):
    answer = ask(api, INVOICES, {"input": {"page": 1, "pageSize": 500}}).json()
    assert "pageSize" in answer["errors"][0]["message"]


def test_an_unknown_invoice_is_not_found(api):
    query = "query($i: InvoiceIdentifierInput!) { getInvoice(input: $i) { invoiceId } }"
    answer = ask(api, query, {"i": {"invoiceId": "1"}}).json()
    assert answer["errors"][0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong", "CustomerSubDomain": SUBDOMAIN},
     {"Authorization": f"Bearer {TOKEN}", "CustomerSubDomain": "elsewhere"}],
)  # fmt: skip
def test_a_call_without_the_token_and_a_known_subdomain_is_unauthorized(api, headers):
    assert ask(api, INVOICES, {"input": {}}, headers=headers).status_code == 401


def test_over_800_calls_a_minute_are_throttled_with_retry_after(sandbox, api, clock):
    for _ in range(800):
        assert ask(api, INVOICES, {"input": {"pageSize": 1}}).status_code == 200
    throttled = ask(api, INVOICES, {"input": {"pageSize": 1}})
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    clock.advance(61)
    assert ask(api, INVOICES, {"input": {"pageSize": 1}}).status_code == 200
    stats = api.get("/_sandbox/stats").json()["subdomains"][SUBDOMAIN]
    assert stats["throttled"] == 1


def test_a_timed_out_payment_is_recorded_though_the_caller_sees_504(sandbox, api):
    invoice = next(iter(sandbox.store.account(SUBDOMAIN).invoices.values()))
    faults = {"error_rate": 1.0, "error_kinds": ["timeout"], "timeout_ms": 0}
    api.post("/_sandbox/faults", json=faults).raise_for_status()
    mutation = """mutation($i: RecordInvoicePaymentInput!) {
        recordInvoicePayment(input: $i) { paymentId } }"""
    pay = {"invoice": {"invoiceId": invoice["invoiceId"]}, "amount": "1.00",
           "paymentDate": "2026-03-01", "reference": "arbridge:x"}  # fmt: skip
    assert ask(api, mutation, {"i": pay}).status_code == 504
    assert [p["reference"] for p in invoice["payments"]] == ["arbridge:x"]
