"""The sandbox company's request processor: iterators, status codes, QuickBooks' checks, faults."""

from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.qbd import mapping, qbxml
from arbridge.sandbox.qbd import Company, Processor, create_app
from arbridge.sandbox.qbd.company import Refused
from tests.sandbox.clock import Clock


@pytest.fixture
def company() -> Company:
    return Company(clock=Clock())


@pytest.fixture
def processor(company) -> Processor:
    return Processor(company)


def ask(processor: Processor, request: str) -> qbxml.Answer:
    return qbxml.parse(processor.process(request))


def test_a_query_that_matches_nothing_answers_status_1(processor):
    answer = ask(processor, qbxml.query("Invoice", ref_numbers=["ABSENT"]))

    assert (answer.status, answer.rows) == (1, ())
    assert qbxml.status_error(answer) is None


def test_an_iterator_continues_until_nothing_remains_and_ends_with_its_session(company, processor):
    customer = company.add_customer("Bluebird Dental")
    for _ in range(5):
        company.add_invoice(customer, [("Support", Decimal("10.00"))])

    first = ask(processor, qbxml.query("Invoice", max_returned=2))
    second = ask(processor, qbxml.query("Invoice", iterator=first.iterator, max_returned=2))
    processor.end_session()
    gone = ask(processor, qbxml.query("Invoice", iterator=first.iterator, max_returned=2))

    assert (len(first.rows), first.remaining) == (2, 3)
    assert (len(second.rows), second.remaining) == (2, 1)
    assert gone.status == 3120


def test_modified_since_reads_only_what_changed(company, processor):
    customer = company.add_customer("Bluebird Dental")
    old = company.add_invoice(customer, [("Support", Decimal("10.00"))])
    since = company.clock.advance(minutes=5)
    new = company.add_invoice(customer, [("Support", Decimal("20.00"))])

    answer = ask(processor, qbxml.query("Invoice", since=since, max_returned=10))

    assert [qbxml.text(row, "TxnID") for row in answer.rows] == [new]
    assert old in company.invoices


def test_a_customer_name_in_use_is_3100(company):
    company.add_customer("Bluebird Dental")

    with pytest.raises(Refused) as refused:
        company.add_customer("bluebird dental")

    assert refused.value.code == 3100


def test_a_payment_for_more_than_the_invoice_owes_is_refused(company, processor):
    customer = company.add_customer("Bluebird Dental")
    invoice = company.add_invoice(customer, [("Support", Decimal("10.00"))])
    payload = {
        "amount": "15.00",
        "date": "2026-03-02",
        "customer_remote_id": customer,
        "allocations": [{"invoice_remote_id": invoice, "amount": "15.00"}],
    }

    answer = ask(processor, mapping.receive_payment_add(payload, "p:1", None))

    assert answer.status == 3250
    assert company.payments == {}


def test_a_queued_status_answers_the_next_request_of_its_name_once(company, processor):
    company.fail_next("CustomerQueryRq", 3200, "The edit sequence is out of date.")

    assert ask(processor, qbxml.query("Customer", max_returned=5)).status == 3200
    assert ask(processor, qbxml.query("Customer", max_returned=5)).status == 1


def test_a_timeout_runs_the_request_then_loses_its_answer(company):
    app = create_app(company)
    customer = company.add_customer("Bluebird Dental")
    invoice = company.add_invoice(customer, [("Support", Decimal("10.00"))])
    payload = {
        "amount": "10.00",
        "date": "2026-03-02",
        "customer_remote_id": customer,
        "allocations": [{"invoice_remote_id": invoice, "amount": "10.00"}],
    }
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://qbd.test") as http:
        http.post("/_sandbox/faults", json={"error_rate": 1.0, "error_kinds": ["timeout"]})
        response = http.post("/qbxml", content=mapping.receive_payment_add(payload, "p:1", None))
        stats = http.get("/_sandbox/stats").json()

    assert response.status_code == 504
    assert len(company.payments_of(invoice)) == 1
    assert stats["faults"] == 1
