"""The sandbox as NetSuite answers: SuiteQL's rules, M2M assertions, governance, isolation."""

import time
from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.netsuite.auth import assertion
from arbridge.connectors.wire import dumps
from arbridge.sandbox.netsuite import create_app, seed
from tests.connectors.netsuite.account import ROOT, Bookkeeper, new_account

SUITEQL = "/services/rest/query/v1/suiteql"


@pytest.fixture
def app():
    return create_app()


@pytest.fixture
def credentials(app):
    return new_account(app)


@pytest.fixture
def books(app, credentials):
    return Bookkeeper(app, credentials)


def query(books, q, **params):
    return books.http.post(
        SUITEQL,
        params=params,
        content=dumps({"q": q}),
        headers={"Prefer": "transient", "Content-Type": "application/json"},
    )


def test_suiteql_pages_by_offset_and_limit_and_says_when_there_is_more(app, credentials, books):
    seed(app.store, credentials["account_id"], customers=2, invoices=5)
    q = "SELECT id FROM transaction WHERE type = 'CustInvc' ORDER BY id"

    first, last = (
        query(books, q, limit=3, offset=0).json(),
        query(books, q, limit=3, offset=3).json(),
    )

    assert (len(first["items"]), first["hasMore"], first["totalResults"]) == (3, True, 5)
    assert (len(last["items"]), last["hasMore"]) == (2, False)


@pytest.mark.parametrize(
    "q, params",
    [
        ("SELECT id FROM transaction", {"limit": 3, "offset": 2}),  # not a multiple of limit
        ("SELECT id FROM transaction", {"limit": 1001}),
        ("DELETE FROM transaction", {}),
        ("SELECT id FROM transaction WHERE id > 3", {}),
    ],
)
def test_suiteql_refuses_what_netsuite_refuses(books, q, params):
    response = query(books, q, **params)

    assert response.status_code == 400
    assert response.json()["o:errorDetails"][0]["o:errorCode"] in (
        "INVALID_PARAMETER",
        "INVALID_SEARCH",
    )


def test_suiteql_needs_prefer_transient(books):
    response = books.http.post(SUITEQL, content=dumps({"q": "SELECT id FROM customer"}))

    assert response.status_code == 400


def test_changes_since_a_moment_are_those_modified_at_or_after_it(books):
    customer = books.customer("Bluebird Dental", "ap@bluebird.example")
    books.invoice(customer, "10.00")
    q = (
        "SELECT id FROM transaction WHERE type = 'CustInvc' AND lastmodifieddate >= "
        "TO_TIMESTAMP('2999-01-01 00:00:00', 'YYYY-MM-DD HH24:MI:SS')"
    )

    assert query(books, q).json()["items"] == []


def token(app, credentials, **claims):
    url = f"{ROOT}/{credentials['account_id']}/services/rest/auth/oauth2/v1/token"
    signed = assertion(
        credentials["client_id"],
        credentials["certificate_id"],
        credentials["private_key"],
        claims.pop("aud", url),
        claims.pop("now", time.time()),
    )
    client = httpx.Client(transport=httpx.WSGITransport(app=app))
    return client.post(
        url,
        data={
            "grant_type": "client_credentials",
            "client_assertion": signed,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        },
    )


def test_a_good_assertion_gets_an_hour_s_token(app, credentials):
    answer = token(app, credentials)

    assert answer.status_code == 200
    assert answer.json()["expires_in"] == 3600


@pytest.mark.parametrize(
    "claims", [{"aud": "https://elsewhere.example/token"}, {"now": time.time() - 7200}]
)
def test_an_assertion_for_another_endpoint_or_expired_is_refused(app, credentials, claims):
    answer = token(app, credentials, **claims)

    assert answer.status_code == 400
    assert answer.json()["error"] in ("invalid_client", "invalid_grant")


def test_a_request_beyond_the_account_s_concurrency_is_429_with_retry_after(
    app, credentials, books
):
    app.store.account(credentials["account_id"]).concurrency = 1
    app.in_flight[credentials["account_id"]] = 1  # one request under way

    response = books.http.get("/services/rest/record/v1/customer/1")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json()["o:errorDetails"][0]["o:errorCode"] == "CONCURRENCY_LIMIT_EXCEEDED"


def test_a_token_reaches_its_own_account_only(app, credentials, books):
    other = new_account(app)
    customer = Bookkeeper(app, other).customer("Elsewhere Inc", "ap@elsewhere.example")
    mine = token(app, credentials).json()["access_token"]

    response = httpx.Client(transport=httpx.WSGITransport(app=app)).get(
        f"{ROOT}/{other['account_id']}/services/rest/record/v1/customer/{customer}",
        headers={"Authorization": f"Bearer {mine}"},
    )

    assert response.status_code == 401
    assert response.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"


def test_an_upsert_by_external_id_writes_one_record_however_often_it_is_sent(books):
    customer = books.customer("Bluebird Dental", "ap@bluebird.example")
    invoice = books.invoice(customer, "100.00")
    body = {
        "customer": {"id": customer},
        "payment": Decimal("40"),
        "apply": {"items": [{"doc": {"id": invoice}, "apply": True, "amount": Decimal("40")}]},
    }

    ids = {
        books.call("PUT", "customerPayment/eid:pay-1", body).headers["Location"] for _ in range(3)
    }

    assert len(ids) == 1
    assert books.read("invoice", invoice)["amountRemaining"] == Decimal("60.00")
