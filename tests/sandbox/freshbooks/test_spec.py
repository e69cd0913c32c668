"""The sandbox answers as FreshBooks' OpenAPI says FreshBooks does."""

from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.wire import parse
from arbridge.sandbox.freshbooks import seed
from tests.connectors.contract import payment_command
from tests.connectors.freshbooks.books import connect
from tests.sandbox.freshbooks.spec import answer_conforms, conforms, resolve, spec

ACCOUNT_PATH = "/accounting/account/{account-ID}"
CONTACTS = {"contacts": {"type": "array", "items": {"$ref": "#/components/schemas/Contact"}}}


def raw(books, path, **params):
    response = books.http.get(path, params=params)
    assert response.is_success, response.text
    return response.json()  # as a client without Decimals reads it


@pytest.fixture
def filled(sandbox, account, books):
    seed(sandbox.store, account, customers=4, invoices=20, paid_share=0.4, credited_share=0.3)
    invoice = books.invoice(books.client("Cedar Law", "ap@cedar.example"), "300.00")
    books.pay(invoice, "100.00")
    books.credit(invoice, "50.00")
    return books


@pytest.mark.parametrize(
    ("path", "spec_path", "include", "extra"),
    [
        ("users/clients", "users/clients", "contacts", CONTACTS),
        ("invoices/invoices", "invoices/invoices", "lines", {}),
        ("payments/payments", "payments/payments", "", {}),
    ],
)
def test_lists_conform(filled, path, spec_path, include, extra):
    params = {"per_page": 100, **({"include[]": include} if include else {})}

    body = raw(filled, path, **params)

    assert body["response"]["result"]["total"] > 0
    answer_conforms(body, f"{ACCOUNT_PATH}/{spec_path}", **extra)


@pytest.mark.parametrize(
    ("path", "spec_path", "key"),
    [
        ("users/clients", "users/clients/{client-ID}", "client"),
        ("invoices/invoices", "invoices/invoices/{invoice-ID}", "invoice"),
        ("payments/payments", "payments/payments/{payment-ID}", "payment"),
    ],
)
def test_single_records_conform(filled, path, spec_path, key):
    first = raw(filled, path)["response"]["result"][path.split("/")[1]][0]

    body = raw(filled, f"{path}/{first['id']}")

    answer_conforms(body, f"{ACCOUNT_PATH}/{spec_path}")


def test_a_payment_created_conforms(filled):
    invoice = filled.invoice(filled.client("Globex"), "80.00")
    response = filled.http.post(
        "payments/payments",
        json={
            "payment": {"invoiceid": invoice["id"], "amount": {"amount": "80.00"}, "type": "Cash"}
        },
    )

    answer_conforms(response.json(), f"{ACCOUNT_PATH}/payments/payments", "post")


def test_the_spec_requires_an_invoice_on_a_payment_and_the_sandbox_refuses_one_without(filled):
    assert "invoiceid" in resolve({"$ref": "#/components/schemas/Payment"})["required"]

    response = filled.http.post("payments/payments", json={"payment": {"amount": "1.00"}})

    assert response.status_code == 422
    assert response.json()["response"]["errors"][0]["field"] == "invoiceid"


def test_the_spec_s_status_and_vis_state_values_are_the_sandbox_s(filled):
    statuses = resolve({"$ref": "#/components/schemas/Invoice"})["properties"]["status"]["enum"]
    invoices = raw(filled, "invoices/invoices", per_page=100)["response"]["result"]["invoices"]

    assert {i["status"] for i in invoices} <= set(statuses)
    assert {i["vis_state"] for i in invoices} <= {0, 1, 2}
    assert spec()["servers"][0]["url"] == "https://api.freshbooks.com/"


def test_the_payment_arbridge_writes_is_one_the_spec_takes(sandbox, account, books):
    sent = []
    inner = httpx.WSGITransport(app=sandbox)

    def record(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            sent.append(parse(request.read()))
        return inner.handle_request(request)

    invoice = books.invoice(books.client("Globex"), "20.00")
    connector = connect(sandbox, account, transport=httpx.MockTransport(record))
    connector.push(payment_command(str(invoice["id"]), Decimal("20.00"), "p:1"))

    [body] = sent
    conforms(body, {"$ref": "#/components/schemas/PaymemtCreateObject"}, "payment body")
