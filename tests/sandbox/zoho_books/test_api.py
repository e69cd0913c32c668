"""The Zoho Books sandbox as Zoho answers: data centres, organization_id, pages, limits, faults."""

from decimal import Decimal

import httpx

from arbridge.connectors.wire import parse
from arbridge.sandbox.zoho_books import create_app, seed
from arbridge.sandbox.zoho_books.app import CLIENT_ID
from arbridge.sandbox.zoho_books.oauth import Grant
from tests.connectors.zoho_books.books import ROOT


def api(app, organization: str, location: str = "us", root: str = ROOT) -> httpx.Client:
    token = app.auth.issue(Grant(CLIENT_ID, location, [organization]), ttl=None)
    return httpx.Client(
        transport=httpx.WSGITransport(app=app),
        base_url=f"{root}/books/v3/",
        headers={"Authorization": f"Zoho-oauthtoken {token['access_token']}"},
    )


def test_every_call_must_name_an_organization_the_token_reaches(sandbox, organization):
    other = sandbox.store.add_org()
    http = api(sandbox, organization)

    assert http.get("invoices").json()["code"] == 6041
    assert http.get("invoices", params={"organization_id": other}).status_code == 400
    assert http.get("invoices", params={"organization_id": organization}).json()["code"] == 0


def test_a_token_is_good_only_at_its_own_data_centre(sandbox):
    organization = sandbox.store.add_org(location="eu")

    at_home = api(sandbox, organization, "eu", f"{ROOT}/eu")
    abroad = api(sandbox, organization, "eu", ROOT)

    assert at_home.get("organizations").json()["organizations"][0]["organization_id"]
    assert abroad.get("organizations").status_code == 401


def test_lists_page_200_at_a_time_and_say_whether_more_follow(sandbox, organization):
    seed(sandbox.store, organization, customers=2, invoices=450)
    http = api(sandbox, organization)
    params = {"organization_id": organization}

    pages = [http.get("invoices", params={**params, "page": n}).json() for n in (1, 2, 3)]

    assert [len(p["invoices"]) for p in pages] == [200, 200, 50]
    assert [p["page_context"]["has_more_page"] for p in pages] == [True, True, False]


def test_last_modified_time_keeps_what_changed_since(sandbox, organization, books, clock):
    contact = books.contact("Bluebird Dental", "ap@bluebird.example")
    old = books.invoice(contact["contact_id"], "10.00")
    clock.advance(minutes=10)
    new = books.invoice(contact["contact_id"], "20.00")
    since = clock.now.strftime("%Y-%m-%dT%H:%M:%S+0000")

    listed = books.call("GET", "invoices", params={"last_modified_time": since})["invoices"]

    assert [i["invoice_id"] for i in listed] == [new["invoice_id"]]
    assert old["invoice_id"] != new["invoice_id"]


def test_the_minute_and_the_day_are_refused_with_429(clock):
    app = create_app(clock=clock, requests_per_minute=2)
    organization = app.store.add_org(plan="free")
    http = api(app, organization)
    params = {"organization_id": organization}

    answers = [http.get("invoices", params=params) for _ in range(3)]
    clock.advance(seconds=61)
    app.limiter.day[organization].extend([clock.now.timestamp()] * 998)
    spent = http.get("invoices", params=params)

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["code"] == 45 and int(answers[2].headers["Retry-After"]) > 0
    assert spent.status_code == 429 and "per day" in spent.json()["message"]


def test_a_payment_reduces_the_balance_and_its_deletion_restores_it(books):
    invoice = books.invoice(books.contact("Bluebird Dental", "ap@b.example")["contact_id"], "90")

    payment = books.pay(invoice, "40.00")
    paid = books.read(invoice["invoice_id"])
    books.delete_payment(payment["payment_id"])
    restored = books.read(invoice["invoice_id"])

    assert (paid["balance"], paid["status"]) == (Decimal("50.00"), "partially_paid")
    assert (restored["balance"], restored["status"]) == (Decimal("90.00"), "sent")


def test_a_timeout_is_answered_504_after_the_write_is_done(books):
    invoice = books.invoice(books.contact("Bluebird Dental", "ap@b.example")["contact_id"], "90")
    books.faults(error_rate=1.0, error_kinds=["timeout"], timeout_ms=1)

    body = {
        "customer_id": invoice["customer_id"],
        "payment_mode": "cash",
        "amount": 90,
        "date": "2026-03-05",
        "invoices": [{"invoice_id": invoice["invoice_id"], "amount_applied": 90}],
    }
    response = books.http.post("customerpayments", json=body)
    books.faults(error_rate=0)

    assert response.status_code == 504
    assert parse(books.http.get(f"invoices/{invoice['invoice_id']}").content)["invoice"][
        "balance"
    ] == Decimal("0.00")
