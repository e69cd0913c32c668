"""The sandbox behaves as Business Central does: sign-in per tenant, pages, limits, handshakes."""

import httpx
import pytest

from arbridge.sandbox.business_central import create_app, seed
from arbridge.sandbox.business_central.app import CLIENT_ID
from tests.connectors.business_central.books import ROOT, Books


def api(app, account, token=None):
    tenant, environment, company = account.split("/")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(
        transport=httpx.WSGITransport(app=app),
        base_url=f"{ROOT}/v2.0/{tenant}/{environment}/api/v2.0/companies({company})/",
        headers=headers,
    )


def test_a_call_needs_a_token_for_the_urls_tenant(sandbox, account):
    other = sandbox.store.add_company(name="Someone else")[0]
    stranger = sandbox.auth.issue(CLIENT_ID, other)["access_token"]

    assert api(sandbox, account).get("customers").status_code == 401
    assert api(sandbox, account, stranger).get("customers").status_code == 401


def test_pages_follow_next_links_to_the_end(sandbox, account, books):
    tenant, environment, company = account.split("/")
    seed(sandbox.store, tenant, environment, company, customers=25, invoices=1)
    seen, url = [], "customers"
    while url:
        answer = books.http.get(url, headers={"Prefer": "odata.maxpagesize=10"}).json()
        seen += [c["id"] for c in answer["value"]]
        url = answer.get("@odata.nextLink")

    assert len(seen) == len(set(seen)) == 25


def test_filters_by_last_modified(sandbox, books, clock):
    books.customer("Old", "old@example.com")
    clock.advance(minutes=5)
    books.customer("New", "new@example.com")
    since = (clock.now.replace(microsecond=0)).strftime("%Y-%m-%dT%H:%M:%S") + "Z"
    earlier = clock.now.replace(minute=clock.now.minute - 1).strftime("%Y-%m-%dT%H:%M:%S") + "Z"

    assert books.list("customers", **{"$filter": f"lastModifiedDateTime gt {since}"}) == []
    names = [
        c["displayName"]
        for c in books.list("customers", **{"$filter": f"lastModifiedDateTime gt {earlier}"})
    ]
    assert names == ["New"]


def test_past_the_window_calls_are_refused_with_retry_after(clock):
    app = create_app(clock=clock, webhook_interval=None, requests_per_window=3, window_s=60)
    account = "/".join(app.store.add_company(name="Acme IT"))
    books = Books(app, account)

    answers = [books.http.get("customers") for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1].headers["Retry-After"]) >= 1
    clock.advance(seconds=61)
    assert books.http.get("customers").status_code == 200


def test_a_posted_invoice_cannot_be_cancelled_once_paid(sandbox, books, bc):
    from decimal import Decimal

    from tests.connectors.contract import payment_command

    invoice = books.invoice(books.customer("Globex", "ap@globex.example"), "50.00")
    bc.push(payment_command(invoice["id"], Decimal("20.00"), "payment:1:1"))

    with pytest.raises(Exception, match="paid"):
        books.cancel(invoice["id"])


def test_a_subscription_is_made_only_when_the_handshake_echoes_the_token(clock):
    answers = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        answers.append(request.url.params.get("validationToken"))
        return httpx.Response(200, text="not the token")

    app = create_app(
        clock=clock,
        webhook_interval=None,
        http=httpx.Client(transport=httpx.MockTransport(endpoint)),
    )
    account = "/".join(app.store.add_company(name="Acme IT"))
    books = Books(app, account)
    tenant, environment, company = account.split("/")
    url = f"{ROOT}/v2.0/{tenant}/{environment}/api/v2.0/subscriptions"
    body = {
        "notificationUrl": "http://arbridge.test/hook",
        "resource": f"/api/v2.0/companies({company})/customers",
        "clientState": "s",
    }

    response = books.http.post(url, json=body)

    assert response.status_code == 400 and answers and answers[0]
    assert books.subscriptions() == []
