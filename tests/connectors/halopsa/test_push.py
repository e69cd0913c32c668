"""Payments taken in arbridge written to HaloPSA invoices, and removed again; PDFs.

Halo has no idempotency key: a write carries a reference made from the
command's key (InvoicePayment.thirdpartyid), and is looked up before it is
made again.
"""

from decimal import Decimal

import httpx
import pytest

from arbridge.connectors.base import Command, PermanentError, RetryableError
from arbridge.connectors.halopsa.connector import payment_reference
from tests.connectors.halopsa.conftest import connect
from tests.sandbox.halopsa.api import control


def payment(*allocations: tuple[dict, str], key: str = "payment:41:halopsa") -> Command:
    total = sum((Decimal(amount) for _, amount in allocations), Decimal(0))
    return Command(
        "create_payment",
        {
            "entity": "payment",
            "local_id": 41,
            "payment_id": 41,
            "amount": str(total),
            "currency": "USD",
            "date": "2026-03-02",
            "reference": "Visa 4242",
            "customer_remote_id": str(allocations[0][0]["client_id"]),
            "allocations": [
                {"invoice_remote_id": str(invoice["id"]), "amount": amount}
                for invoice, amount in allocations
            ],
        },
        key,
    )


def remaining(halo, invoice: dict) -> Decimal:
    return halo.get(f"Invoice/{invoice['id']}")["amount_remaining"]


@pytest.fixture
def bluebird(halo) -> dict:
    return halo.client("Bluebird Dental")


def test_a_payment_is_applied_to_each_invoice_it_pays(connector, halo, bluebird):
    first = halo.invoice(bluebird, ("Labor", 2, "165.00"))
    second = halo.invoice(bluebird, ("Labor", 1, "165.00"))

    ref = connector.push(payment((first, "330.00"), (second, "65.00")))

    rows = halo.get("InvoicePayment")["invoicepayments"]
    assert ref.remote_id == ",".join(str(row["id"]) for row in rows)
    assert [(row["invoice_id"], row["amount"]) for row in rows] == [
        (first["id"], Decimal("330.00")),
        (second["id"], Decimal("65.00")),
    ]
    assert {row["thirdpartyid"] for row in rows} == {payment_reference("payment:41:halopsa")}
    assert remaining(halo, first) == 0
    assert remaining(halo, second) == Decimal("100.00")


def test_pushing_the_same_command_again_writes_nothing_more(connector, halo, bluebird):
    invoice = halo.invoice(bluebird, ("Labor", 2, "165.00"))
    command = payment((invoice, "100.00"))

    first = connector.push(command)
    again = connector.push(command)

    assert again == first
    assert len(halo.get("InvoicePayment")["invoicepayments"]) == 1
    assert remaining(halo, invoice) == Decimal("230.00")


class LosesAnAnswer(httpx.BaseTransport):
    """The network: it delivers every request, but loses Halo's answer to the first POST."""

    def __init__(self, inner: httpx.BaseTransport, path: str) -> None:
        self.inner = inner
        self.path = path
        self.lost = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not self.lost and request.method == "POST" and request.url.path == self.path:
            self.lost = True
            raise httpx.ReadTimeout("the answer was lost on the way back", request=request)
        return response


def test_a_retry_after_a_lost_answer_finds_what_was_written(sandbox, halo, bluebird):
    first = halo.invoice(bluebird, ("Labor", 1, "165.00"))
    second = halo.invoice(bluebird, ("Labor", 1, "165.00"))
    network = LosesAnAnswer(httpx.WSGITransport(app=sandbox), "/api/InvoicePayment")
    connector = connect(sandbox, transport=network)
    command = payment((first, "165.00"), (second, "65.00"))

    with pytest.raises(RetryableError):
        connector.push(command)  # Halo wrote the first; we never heard
    ref = connector.push(command)

    rows = halo.get("InvoicePayment")["invoicepayments"]
    assert [(row["invoice_id"], row["amount"]) for row in rows] == [
        (first["id"], Decimal("165.00")),
        (second["id"], Decimal("65.00")),
    ]
    assert ref.remote_id == f"{rows[0]['id']},{rows[1]['id']}"


def test_another_payment_of_the_same_amount_is_written(connector, halo, bluebird):
    invoice = halo.invoice(bluebird, ("Labor", 2, "165.00"))

    connector.push(payment((invoice, "100.00"), key="payment:41:halopsa"))
    connector.push(payment((invoice, "100.00"), key="payment:42:halopsa"))

    assert remaining(halo, invoice) == Decimal("130.00")


def test_a_long_key_still_makes_a_short_stable_reference():
    key = "payment:" + "9" * 120

    assert payment_reference(key) == payment_reference(key)
    assert len(payment_reference(key)) <= 49
    assert payment_reference(key) != payment_reference(key + "0")


def test_deleting_a_payment_removes_it_and_restores_the_balance(connector, halo, bluebird):
    first = halo.invoice(bluebird, ("Labor", 1, "165.00"))
    second = halo.invoice(bluebird, ("Labor", 1, "165.00"))
    ref = connector.push(payment((first, "165.00"), (second, "15.00")))

    connector.push(Command("delete_payment", {"remote_id": ref.remote_id}, "payment:41:delete"))

    assert halo.get("InvoicePayment")["invoicepayments"] == []
    assert (remaining(halo, first), remaining(halo, second)) == (
        Decimal("165.00"),
        Decimal("165.00"),
    )


def test_deleting_a_payment_already_gone_counts_as_done(connector, halo, bluebird):
    invoice = halo.invoice(bluebird)
    ref = connector.push(payment((invoice, "10.00")))
    halo.delete(f"InvoicePayment/{ref.remote_id}")

    again = connector.push(Command("delete_payment", {"remote_id": ref.remote_id}, "del"))

    assert again.remote_id == ref.remote_id


def test_a_payment_halo_refuses_is_a_permanent_error(connector, halo, bluebird):
    invoice = halo.invoice(bluebird, ("Labor", 1, "165.00"))

    with pytest.raises(PermanentError, match="more than the 165.00 outstanding"):
        connector.push(payment((invoice, "200.00")))


def test_a_payment_for_an_invoice_halo_does_not_have_is_permanent(connector, bluebird):
    with pytest.raises(PermanentError):
        connector.push(payment(({"id": 999, "client_id": bluebird["id"]}, "10.00")))


def test_halo_takes_no_deposits(connector):
    assert not connector.capabilities.deposits
    with pytest.raises(PermanentError):
        connector.push(Command("create_deposit", {"payout": "100.00"}, "deposit:1"))


def test_a_payment_write_refused_by_the_limit_is_tried_again_then_left_for_later(
    connector, halo, bluebird, sandbox, sleeps
):
    invoice = halo.invoice(bluebird)
    faults = {"error_rate": 1, "error_kinds": ["429"]}
    control(sandbox).post("/_sandbox/faults", json=faults)

    with pytest.raises(RetryableError):
        connector.push(payment((invoice, "10.00")))

    # Halo's Retry-After (1 s) was waited out between tries, and nothing was written.
    assert len(sleeps.waits) == 3
    assert all(wait >= 1 for wait in sleeps.waits)

    control(sandbox).post("/_sandbox/faults", json={})
    connector.push(payment((invoice, "10.00")))
    assert remaining(halo, invoice) == Decimal("90.00")


def test_the_pdf_is_halos_own(connector, halo, bluebird):
    invoice = halo.invoice(bluebird)

    pdf = connector.pdf(str(invoice["id"]))

    assert pdf.startswith(b"%PDF-")
    assert f"Invoice {invoice['invoicenumber']}".encode() in pdf
