"""The Xero sandbox's rules: limits, tokens and tenants, If-Modified-Since, idempotent writes."""

import datetime as dt
from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.oauth import TokenManager
from arbridge.connectors.wire import dumps
from arbridge.sandbox.xero import create_app
from arbridge.sandbox.xero.oauth import ACCESS_TTL, REFRESH_GRACE
from tests.connectors.xero.books import ROOT, Books, MemoryTokenStore, oauth_app


def limited(clock, **limits):
    app = create_app(clock=clock, **limits)
    tenant = app.store.add_org(name="Acme IT")
    return app, Books(app, tenant)


def test_the_minute_limit_answers_429_with_retry_after_and_the_problem(clock):
    app, books = limited(clock, requests_per_minute=3)
    answers = [books.http.get("Invoices") for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["X-MinLimit-Remaining"] == "2"
    assert answers[3].headers["X-Rate-Limit-Problem"] == "minute"
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
    clock.advance(seconds=61)
    assert books.http.get("Invoices").status_code == 200


def test_the_day_limit_answers_429_until_the_day_has_passed(clock):
    app, books = limited(clock, requests_per_day=2)
    books.http.get("Invoices")
    clock.advance(hours=1)
    books.http.get("Invoices")

    refused = books.http.get("Invoices")

    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "day"
    assert int(refused.headers["Retry-After"]) == 23 * 3600
    assert refused.headers["X-DayLimit-Remaining"] == "0"
    clock.advance(hours=23, seconds=1)
    assert books.http.get("Invoices").status_code == 200


def test_more_than_five_at_once_is_refused(clock):
    app, books = limited(clock)
    app.limiter.stats[books.tenant].in_flight = 5  # five calls of other workers running

    refused = books.http.get("Invoices")

    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "concurrent"


def test_a_call_needs_a_connected_tenant(sandbox, books):
    other = sandbox.store.add_org(name="Someone else")

    assert books.http.get("Invoices", headers={"xero-tenant-id": other}).status_code == 403
    assert books.http.get("Invoices", headers={"xero-tenant-id": ""}).status_code == 403
    assert books.http.get("Invoices", headers={"Authorization": "Bearer nope"}).status_code == 401


def consented(sandbox, tenant, store=None):
    http = httpx.Client(transport=httpx.WSGITransport(app=sandbox))
    tokens = TokenManager(oauth_app(), store or MemoryTokenStore(), http)
    url, state = tokens.authorization_url()
    tokens.fetch_token(http.get(f"{url}&tenant={tenant}").headers["Location"], state=state)
    return http, tokens


def test_tokens_live_30_minutes_and_the_refresh_token_rotates(sandbox, tenant, clock):
    http, tokens = consented(sandbox, tenant)
    first = tokens.store.load()
    assert first["expires_in"] == ACCESS_TTL == 1800

    clock.advance(minutes=31)
    assert sandbox.store.auth.grant_of(first["access_token"]) is None
    tokens.access_token(rejected=first["access_token"])
    second = tokens.store.load()

    assert second["refresh_token"] != first["refresh_token"]
    # The replaced refresh token works for 30 minutes more, then not at all.
    clock.advance(seconds=REFRESH_GRACE - 1)
    assert sandbox.store.auth.refresh_tokens(oauth_app().client_id, first["refresh_token"])
    clock.advance(seconds=2)
    with pytest.raises(Exception, match="invalid_grant"):
        sandbox.store.auth.refresh_tokens(oauth_app().client_id, first["refresh_token"])


def test_connections_list_the_tenants_consented_and_can_be_deleted(sandbox, tenant):
    http, tokens = consented(sandbox, tenant)
    auth = {"Authorization": f"Bearer {tokens.access_token()}"}

    (connection,) = http.get(f"{ROOT}/connections", headers=auth).json()
    assert connection["tenantId"] == tenant and connection["tenantType"] == "ORGANISATION"
    assert connection["tenantName"] == "Acme IT"

    assert http.delete(f"{ROOT}/connections/{connection['id']}", headers=auth).status_code == 204
    assert http.get(f"{ROOT}/connections", headers=auth).json() == []
    calls = http.get(f"{ROOT}/api.xro/2.0/Invoices", headers={**auth, "xero-tenant-id": tenant})
    assert calls.status_code == 403


def test_consent_without_offline_access_gives_no_code(sandbox):
    http = httpx.Client(transport=httpx.WSGITransport(app=sandbox))
    url = (
        f"{ROOT}/identity/connect/authorize?response_type=code&client_id={oauth_app().client_id}"
        "&redirect_uri=http://arbridge.test/cb&scope=accounting.transactions&state=s"
    )

    location = http.get(url).headers["Location"]

    assert "error=invalid_scope" in location and "code=" not in location


def test_if_modified_since_lists_only_what_changed(books, clock):
    client = books.contact("Bluebird Dental")
    old = books.invoice(client, "10.00")
    clock.advance(hours=1)
    since = clock.now.strftime("%Y-%m-%dT%H:%M:%S")
    new = books.invoice(client, "20.00")
    books.update("Contacts", client["ContactID"], Name="Bluebird Dental Group")

    headers = {"If-Modified-Since": since}
    invoices = books.call("GET", "Invoices", headers=headers)["Invoices"]
    contacts = books.call("GET", "Contacts", headers=headers)["Contacts"]

    assert [i["InvoiceID"] for i in invoices] == [new["InvoiceID"]]
    assert old["InvoiceID"] not in {i["InvoiceID"] for i in invoices}
    assert [c["Name"] for c in contacts] == ["Bluebird Dental Group"]


def test_where_filters_sales_from_bills(books):
    client = books.contact("Cedar Law")
    sale = books.invoice(client, "10.00")
    books.invoice(client, "20.00", Type="ACCPAY")

    found = books.call("GET", "Invoices", params={"where": 'Type=="ACCREC"'})["Invoices"]

    assert [i["InvoiceID"] for i in found] == [sale["InvoiceID"]]


def test_a_repeated_idempotency_key_writes_once(books):
    invoice = books.invoice(books.contact("Harbor Logistics"), "100.00")
    body = {
        "Payments": [
            {
                "Invoice": {"InvoiceID": invoice["InvoiceID"]},
                "Account": {"Code": "090"},
                "Amount": Decimal("40.00"),
            }
        ]
    }
    headers = {"Idempotency-Key": "payment:1"}

    first = books.call("PUT", "Payments", body, headers=headers)
    again = books.call("PUT", "Payments", body, headers=headers)

    assert first["Payments"] == again["Payments"]
    assert len(books.payments_of(invoice["InvoiceID"])) == 1
    assert books.read("Invoices", invoice["InvoiceID"])["AmountDue"] == Decimal("60.00")
    too_long = books.http.put("Payments", headers={"Idempotency-Key": "k" * 129}, content="{}")
    assert too_long.status_code == 400


def test_payments_follow_xeros_rules(books):
    client = books.contact("Summit Clinics")
    draft = books.invoice(client, "10.00", Status="DRAFT")
    invoice = books.invoice(client, "10.00")

    def pay(invoice_id, code="090", amount="5.00"):
        body = {
            "Invoice": {"InvoiceID": invoice_id},
            "Account": {"Code": code},
            "Amount": Decimal(amount),
        }
        return books.http.put("Payments", content=dumps(body))

    assert "AUTHORISED" in pay(draft["InvoiceID"]).text
    assert "BANK" in pay(invoice["InvoiceID"], code="200").text
    assert "exceeds" in pay(invoice["InvoiceID"], amount="11.00").text
    assert pay(invoice["InvoiceID"], code="615").status_code == 200
    assert (
        "voided"
        in books.http.post(f"Invoices/{invoice['InvoiceID']}", json={"Status": "VOIDED"}).text
    )


def test_the_sandbox_clock_stamps_updates(books, clock):
    invoice = books.invoice(books.contact("Atlas Freight"), "10.00")
    stamp = int(invoice["UpdatedDateUTC"][6:-7])

    assert dt.datetime.fromtimestamp(stamp / 1000, dt.UTC) >= clock.now
