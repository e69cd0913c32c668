"""The QuickBooks API client: Fault codes, request ids, the wire format, Id pages."""

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from arbridge.connectors.base import PermanentError
from arbridge.connectors.qbo.client import (
    NotFound,
    QuickBooksClient,
    StaleObject,
    dumps,
    loads,
    request_id_for,
)
from tests.connectors.qbo.books import ROOT

FAULT = (Path(__file__).parent / "fixtures" / "fault.json").read_bytes()


def vendor(handler) -> QuickBooksClient:
    """Return a client to a fake QuickBooks that answers every request with `handler`."""
    return QuickBooksClient(httpx.Client(transport=httpx.MockTransport(handler)), ROOT, "1")


def test_a_stale_sync_token_raises_stale_object(books, qbo):
    invoice = books.invoice(books.customer("Bluebird Dental"), "100.00")
    payment = books.pay(invoice, "40.00")
    books.update("Payment", payment["Id"], PrivateNote="Checked")

    with pytest.raises(StaleObject, match="Stale Object Error"):
        qbo.client.write(
            "Payment",
            {"Id": payment["Id"], "SyncToken": payment["SyncToken"]},
            request_id="refund:41:1",
            operation="delete",
        )


def test_reading_a_deleted_object_raises_not_found(books, qbo):
    invoice = books.invoice(books.customer("Bluebird Dental"), "100.00")
    books.delete("Invoice", invoice["Id"])

    with pytest.raises(NotFound):
        qbo.client.read("Invoice", invoice["Id"])


def test_other_faults_are_permanent_and_say_what_quickbooks_said():
    client = vendor(lambda request: httpx.Response(400, content=FAULT))

    with pytest.raises(PermanentError) as refused:
        client.write("Customer", {"GivenName": "x" * 30}, request_id="customer:1")

    assert type(refused.value) is PermanentError
    assert "Length exceeds limit" in str(refused.value)
    assert refused.value.status == 400


def test_pages_that_go_back_to_an_id_already_read_stop_the_sync():
    page = {"QueryResponse": {"Invoice": [{"Id": str(id)} for id in range(1, 1001)]}}
    client = vendor(lambda request: httpx.Response(200, json=page))

    with pytest.raises(PermanentError, match="not in Id order"):
        list(client.pages("Invoice"))


def test_a_page_carries_the_time_quickbooks_answered(books, qbo):
    [page] = qbo.client.pages("Term")

    assert page.time is not None and page.time.tzinfo is not None
    assert {term["Name"] for term in page.records} >= {"Net 15", "Net 30"}


def test_amounts_go_out_as_json_numbers_digit_for_digit():
    body = {"TotalAmt": Decimal("1234567890123.10"), "Line": [{"UnitPrice": Decimal("0.5306667")}]}

    text = dumps(body)

    assert text == '{"TotalAmt":1234567890123.10,"Line":[{"UnitPrice":0.5306667}]}'
    assert loads(text) == body
    assert json.loads(text)["TotalAmt"] == 1234567890123.1


def test_request_ids_fit_quickbooks_and_stay_the_same_for_a_key():
    short = "payment:41:1"
    long = "payment:" + "7" * 100

    assert request_id_for(short) == short
    assert len(request_id_for(long)) == 50
    assert request_id_for(long) == request_id_for(long)
    assert request_id_for(long) != request_id_for(long + "8")
