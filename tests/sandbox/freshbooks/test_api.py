"""The FreshBooks sandbox's API as a client sees it: paging, filters, auth, limits, callbacks."""

import datetime as dt

from arbridge.sandbox.freshbooks import seed
from arbridge.sandbox.freshbooks.store import stamp


def result(response):
    assert response.is_success, response.text
    return response.json()["response"]["result"]


def test_lists_page_by_at_most_100(sandbox, account, books):
    seed(sandbox.store, account, customers=2, invoices=230, paid_share=0)

    first = result(books.http.get("invoices/invoices", params={"per_page": 500}))
    last = result(books.http.get("invoices/invoices", params={"per_page": 100, "page": 3}))

    assert (first["per_page"], first["pages"], first["total"]) == (100, 3, 230)
    assert len(first["invoices"]) == 100 and len(last["invoices"]) == 30
    assert "lines" not in first["invoices"][0]


def test_updated_min_is_us_eastern_and_keeps_what_changed_at_or_after_it(books, clock):
    client = books.client("Globex")
    books.invoice(client, "10.00")
    clock.advance(minutes=30)
    moment = clock.now
    later = books.invoice(client, "20.00")

    body = result(
        books.http.get(
            "invoices/invoices",
            params={"search[updated_min]": stamp(moment), "include[]": "lines"},
        )
    )

    assert [i["id"] for i in body["invoices"]] == [later["id"]]
    assert body["invoices"][0]["lines"][0]["amount"]["amount"] == "20.00"
    eastern = dt.datetime.strptime(later["updated"], "%Y-%m-%d %H:%M:%S")
    assert moment.replace(tzinfo=None) - eastern == dt.timedelta(hours=5)  # EST in March 2


def test_a_deleted_invoice_is_listed_with_vis_state_1_and_takes_no_payment(books):
    invoice = books.invoice(books.client("Globex"), "10.00")
    books.delete_invoice(invoice["id"])

    listed = result(books.http.get("invoices/invoices"))["invoices"]
    refused = books.http.post(
        "payments/payments",
        json={"payment": {"invoiceid": invoice["id"], "amount": {"amount": "10.00"}}},
    )

    assert [i["vis_state"] for i in listed] == [1]
    assert refused.status_code == 422


def test_a_call_without_a_token_or_for_another_account_is_refused(sandbox, account, books):
    other = sandbox.store.add_account(name="Not yours")

    unauthorised = books.http.get("invoices/invoices", headers={"Authorization": "Bearer nope"})
    elsewhere = books.control.get(
        f"/accounting/account/{other}/invoices/invoices",
        headers={"Authorization": books.http.headers["Authorization"]},
    )

    assert unauthorised.status_code == 401
    assert elsewhere.status_code == 403


def test_past_the_limit_a_429_says_when_to_come_back(sandbox, books):
    sandbox.limiter.per_window = 2

    answers = [books.http.get("users/clients") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert books.stats()["throttled"] == 1


def test_every_answer_carries_the_sandbox_s_date(books, clock):
    answer = books.http.get("users/clients")

    assert answer.headers["Date"] == clock.now.strftime("%a, %d %b %Y %H:%M:%S GMT")


def test_only_verified_callbacks_are_posted_to_and_their_forms_are_signed(sandbox, account, books):
    token = sandbox.store.auth.issue("sandbox-freshbooks-client-id", [account], ttl=None)
    events = books.control.post(
        f"/events/account/{account}/events/callbacks",
        json={"callback": {"event": "invoice", "uri": "http://arbridge.test/hook"}},
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    callback = result(events)["callback"]
    verifier = sandbox.store.accounts[account].verifiers[callback["callbackid"]]
    queued = [e.name for events in sandbox.notifier.pending.values() for e in events]
    books.invoice(books.client("Globex"), "5.00")
    before = [e.name for events in sandbox.notifier.pending.values() for e in events]

    wrong = books.control.put(
        f"/events/account/{account}/events/callbacks/{callback['callbackid']}",
        json={"callback": {"verifier": "wrong"}},
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    right = books.control.put(
        f"/events/account/{account}/events/callbacks/{callback['callbackid']}",
        json={"callback": {"verifier": verifier}},
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    books.invoice(books.client("Initech"), "6.00")
    after = [e.name for events in sandbox.notifier.pending.values() for e in events]

    assert queued == before == ["callback.verify"]
    assert wrong.status_code == 422 and result(right)["callback"]["verified"] is True
    assert after == ["callback.verify", "invoice.create"]
