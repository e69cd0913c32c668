"""Invoice payments: each lowers the invoice's balance; deleting one restores it."""

from decimal import Decimal

from tests.sandbox.connectwise.api import CW


def test_a_payment_lowers_the_balance(cw: CW):
    invoice = cw.invoice(cw.company("Bluebird Dental"), "100.00")

    payment = cw.pay(invoice, "40.00", source="arbridge:p1")

    after = cw.get(f"/finance/invoices/{invoice['id']}")
    assert Decimal(str(after["balance"])) == Decimal("60.00")
    assert Decimal(str(after["payments"])) == Decimal("40.00")
    assert payment["invoice"]["id"] == invoice["id"]
    assert [row["source"] for row in cw.get(f"/finance/invoices/{invoice['id']}/payments")] == [
        "arbridge:p1"
    ]


def test_deleting_a_payment_restores_the_balance(cw: CW):
    invoice = cw.invoice(cw.company("Bluebird Dental"), "100.00")
    payment = cw.pay(invoice, "40.00")

    response = cw.delete(f"/finance/invoices/{invoice['id']}/payments/{payment['id']}")

    assert response.status_code == 204
    assert Decimal(str(cw.get(f"/finance/invoices/{invoice['id']}")["balance"])) == 100
    assert cw.get(f"/finance/invoices/{invoice['id']}/payments") == []


def test_it_refuses_a_payment_over_the_balance(cw: CW):
    invoice = cw.invoice(cw.company("Bluebird Dental"), "100.00")

    response = cw.api.post(
        f"/finance/invoices/{invoice['id']}/payments", json={"type": "Payment", "amount": 100.01}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "InvalidObject"


def test_a_payment_of_a_missing_invoice_is_not_found(cw: CW):
    response = cw.api.post("/finance/invoices/99/payments", json={"amount": 1})

    assert response.status_code == 404
