"""The sandbox answers as Xero's OpenAPI says Xero does."""

import json
from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.wire import dumps
from arbridge.sandbox.xero import create_app, seed
from tests.connectors.xero.books import Books
from tests.sandbox.xero.spec import answer_conforms, delivery_conforms


def raw(books, method, path, body=None, **kwargs):
    """Return an answer's JSON as a client without Decimals reads it: numbers as numbers."""
    if body is not None:
        kwargs["content"] = dumps(body)
    response = books.http.request(method, path, **kwargs)
    assert response.is_success, response.text
    return response.json()


@pytest.fixture
def filled(sandbox, tenant, books):
    seed(sandbox.store, tenant, customers=4, invoices=30, paid_share=0.3, credited_share=0.3)
    client = books.contact(
        "Cedar Law",
        "ap@cedar.example",
        ContactPersons=[
            {"FirstName": "Pat", "EmailAddress": "pat@cedar.example", "IncludeInEmails": True}
        ],
    )
    invoice = books.invoice(client, "300.00")
    books.credit(invoice, "50.00")
    books.pay(invoice, "100.00")
    books.create(
        "BankTransfers",
        {
            "FromBankAccount": {"Code": "615"},
            "ToBankAccount": {"Code": "090"},
            "Amount": Decimal("10.00"),
        },
    )
    books.create(
        "BankTransactions",
        {
            "Type": "SPEND",
            "Contact": {"Name": "Stripe"},
            "BankAccount": {"Code": "615"},
            "LineItems": [
                {"Description": "Fees", "Quantity": 1, "UnitAmount": "1.50", "AccountCode": "404"}
            ],
        },
    )
    return books


@pytest.mark.parametrize(
    "resource",
    [
        "Invoices",
        "Contacts",
        "CreditNotes",
        "Payments",
        "Accounts",
        "BankTransfers",
        "BankTransactions",
    ],
)
def test_lists_conform(filled, resource):
    body = raw(filled, "GET", resource, params={"page": 1})

    assert body[resource]
    answer_conforms(body, f"/{resource}")


def test_a_paged_list_says_how_many_pages(sandbox, tenant, books):
    seed(sandbox.store, tenant, customers=2, invoices=250, paid_share=0, credited_share=0)

    pages = [raw(books, "GET", "Invoices", params={"page": n}) for n in (1, 3)]

    assert [len(page["Invoices"]) for page in pages] == [100, 50]
    assert pages[0]["pagination"] == {"page": 1, "pageSize": 100, "pageCount": 3, "itemCount": 250}


def test_reads_of_one_conform(filled):
    invoice = filled.list("Invoices")[0]
    contact = filled.list("Contacts")[0]

    answer_conforms(raw(filled, "GET", f"Invoices/{invoice['InvoiceID']}"), "/Invoices/{InvoiceID}")
    answer_conforms(raw(filled, "GET", f"Contacts/{contact['ContactID']}"), "/Contacts/{ContactID}")
    answer_conforms(raw(filled, "GET", "Organisation"), "/Organisation")


def test_writes_and_refusals_conform(filled):
    invoice = next(i for i in filled.list("Invoices") if i["Status"] == "AUTHORISED")
    body = {
        "Payments": [
            {
                "Invoice": {"InvoiceID": invoice["InvoiceID"]},
                "Account": {"Code": "090"},
                "Amount": Decimal("1.00"),
            }
        ]
    }
    answer_conforms(raw(filled, "PUT", "Payments", body), "/Payments", "put")

    too_much = {"Payments": [{**body["Payments"][0], "Amount": Decimal("1000000.00")}]}
    refused = filled.http.put("Payments", content=json.dumps(too_much, default=str))
    assert refused.status_code == 400
    answer_conforms(refused.json(), "/Payments", "put", "400")


def test_webhook_deliveries_conform():
    seen = []
    app = create_app(
        webhook_url="http://arbridge.test/webhooks/xero",
        webhook_interval=None,
        http=httpx.Client(
            transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200))
        ),
    )
    books = Books(app, app.store.add_org())
    books.invoice(books.contact("Bluebird Dental"), "10.00")
    app.flush_webhooks()
    app.notifier.intent_to_receive()

    assert len(seen) == 5
    for request in seen:
        delivery_conforms(json.loads(request.content))
