"""The sandbox answers, and the connector asks, as Zoho's OpenAPI documents say."""

from decimal import Decimal

import httpx

from arbridge.connectors.wire import parse
from tests.connectors.contract import Replica, payment_command
from tests.connectors.zoho_books.books import connect
from tests.sandbox.zoho_books.spec import answer_conforms, request_conforms

API = "/books/v3/"


class Recorder(httpx.BaseTransport):
    def __init__(self, app) -> None:
        self.inner = httpx.WSGITransport(app=app)
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        self.exchanges.append((request, response))
        return response


def test_what_the_connector_sends_and_the_sandbox_answers_is_in_the_spec(
    sandbox, organization, books, clock
):
    contact = books.contact("Bluebird Dental", "ap@bluebird.example")
    invoice = books.invoice(contact["contact_id"], "300.00", "20.00")
    books.pay(invoice, "100.00")
    books.credit(invoice, "20.00")
    recorder = Recorder(sandbox)
    zoho = connect(sandbox, organization, transport=recorder)

    replica = Replica()
    replica.sync(zoho)
    clock.advance(minutes=5)
    books.change(invoice["invoice_id"], "310.00", "20.00")
    replica.sync(zoho)
    zoho.push(payment_command(invoice["invoice_id"], Decimal("50.00"), "zoho_books-payment-1-1"))
    zoho.accounts()

    seen = set()
    for request, response in recorder.exchanges:
        path = request.url.path.split(API, 1)[1]
        path = f"/{path}"
        body = parse(request.content) if request.content else None
        request_conforms(path, request.method, set(request.url.params), body)
        assert response.status_code < 300, response.text
        answer_conforms(parse(response.content), path, request.method)
        seen.add((request.method, path.split("/")[1]))
    assert seen >= {
        ("GET", "organizations"),
        ("GET", "contacts"),
        ("GET", "invoices"),
        ("GET", "customerpayments"),
        ("POST", "customerpayments"),
        ("GET", "chartofaccounts"),
    }


def test_a_bookkeepers_writes_are_answered_as_the_spec_says(books):
    contact = books.contact("Bluebird Dental", "ap@bluebird.example")
    invoice = books.invoice(contact["contact_id"], "300.00")
    payment = books.pay(invoice, "100.00")

    answer_conforms({"code": 0, "message": "ok", "contact": contact}, "/contacts", "post")
    answer_conforms({"code": 0, "message": "ok", "invoice": invoice}, "/invoices", "post")
    answer_conforms({"code": 0, "message": "ok", "payment": payment}, "/customerpayments", "post")
