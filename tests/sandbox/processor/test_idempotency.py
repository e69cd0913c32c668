"""Idempotency-Key, as Stripe's: the same request is answered once, another one refused."""

import datetime as dt

from tests.sandbox.processor.api import Merchant
from tests.sandbox.processor.conftest import START


def body(token: str, amount: str = "100.00") -> dict:
    return {"amount": amount, "currency": "usd", "method": token}


def test_the_same_key_replays_the_first_answer_and_charges_once(merchant):
    token = merchant.token()

    first = merchant.post("/v1/payments", body(token), key="checkout-1")
    again = merchant.post("/v1/payments", body(token), key="checkout-1")

    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(merchant.events()) == 1


def test_a_decline_is_replayed_too(merchant):
    token = merchant.token("4000000000000002")

    first = merchant.post("/v1/payments", body(token), key="checkout-1")
    again = merchant.post("/v1/payments", body(token), key="checkout-1")

    assert first.status_code == again.status_code == 402
    assert again.content == first.content


def test_the_same_key_with_other_parameters_is_refused(merchant):
    token = merchant.token()
    merchant.post("/v1/payments", body(token), key="checkout-1")

    other = merchant.post("/v1/payments", body(token, "100.01"), key="checkout-1")

    assert other.status_code == 400
    assert other.json()["error"]["type"] == "idempotency_error"
    assert len(merchant.events()) == 1


def test_a_refused_request_is_not_kept(merchant):
    token = merchant.token()

    refused = merchant.post("/v1/payments", body(token, "0.00"), key="checkout-1")
    fixed = merchant.post("/v1/payments", body(token, "0.50"), key="checkout-1")

    assert refused.status_code == 400
    assert fixed.status_code == 200


def test_keys_are_per_account(sandbox, merchant):
    other = Merchant(sandbox)
    mine = merchant.post("/v1/payments", body(merchant.token()), key="checkout-1")
    theirs = other.post("/v1/payments", body(other.token()), key="checkout-1")

    assert mine.status_code == theirs.status_code == 200
    assert mine.json()["id"] != theirs.json()["id"]


def test_keys_are_forgotten_after_a_day(merchant, clock):
    first = merchant.post("/v1/payments", body(merchant.token()), key="checkout-1")

    clock.move_to(START + dt.timedelta(hours=25))
    later = merchant.post("/v1/payments", body(merchant.token()), key="checkout-1")

    assert later.status_code == 200
    assert later.json()["id"] != first.json()["id"]


def test_moving_money_needs_a_key(merchant):
    payment = merchant.post("/v1/payments", body(merchant.token()))
    paid = merchant.paid(merchant.token())
    refund = merchant.post(f"/v1/payments/{paid['id']}/refunds", {})

    assert payment.status_code == refund.status_code == 400
    assert payment.json()["error"]["code"] == "idempotency_key_missing"


def test_a_refund_is_made_once_per_key(merchant):
    paid = merchant.paid(merchant.token(), "100.00")

    first = merchant.post(f"/v1/payments/{paid['id']}/refunds", {"amount": "10.00"}, key="r")
    again = merchant.post(f"/v1/payments/{paid['id']}/refunds", {"amount": "10.00"}, key="r")

    assert again.json() == first.json()
    assert str(merchant.payment(paid["id"])["amount_refunded"]) == "10.00"
