"""Payouts: money taken becomes available business days later, paid out net of fees."""

import datetime as dt
from decimal import Decimal

from tests.sandbox.processor.api import Merchant, day, total
from tests.sandbox.processor.conftest import START


def by_day(merchant) -> dict[str, dict]:
    return {payout["arrival_date"]: payout for payout in merchant.payouts()}


def test_a_payout_sums_gross_less_fees(merchant, clock):
    card = merchant.paid(merchant.token(), "100.00")
    other = merchant.paid(merchant.token("5555555555554444"), "250.00")
    debit_card = merchant.paid(merchant.token("4000056655665556"), "40.00")
    funds = merchant.receive("1200.00", "INV-1042")

    clock.move_to(START + dt.timedelta(days=2))  # Wednesday
    payouts = merchant.payouts()

    assert len(payouts) == 1
    payout = payouts[0]
    assert payout["arrival_date"] == "2026-03-04"
    items = {item["payment"]: item for item in payout["items"]}
    assert items[card["id"]]["fee"] == Decimal("3.20")  # 2.9% + 0.30
    assert items[other["id"]]["fee"] == Decimal("7.55")
    assert items[debit_card["id"]]["fee"] == Decimal("1.46")
    assert (items[funds["id"]]["kind"], items[funds["id"]]["fee"]) == ("funds", 0)
    for item in payout["items"]:
        assert item["net"] == item["amount"] - item["fee"]
    gross = total(*(item["amount"] for item in payout["items"]))
    fees = total(*(item["fee"] for item in payout["items"]))
    assert payout["amount"] == gross - fees == Decimal("1577.79")
    assert merchant.events()[-1]["type"] == "payout.paid"
    assert merchant.events()[-1]["data"]["object"] == payout


def test_refunds_and_ach_come_out_in_later_payouts(merchant, clock):
    card = merchant.paid(merchant.token(), "100.00")
    ach = merchant.paid(merchant.token(account_number="000123456789"), "500.00")
    clock.move_to(START + dt.timedelta(days=1))  # Tuesday
    refund = merchant.post(f"/v1/payments/{card['id']}/refunds", {"amount": "30.00"}, key="r1")

    clock.move_to(START + dt.timedelta(days=14))
    payouts = by_day(merchant)

    assert refund.status_code == 200
    assert payouts["2026-03-04"]["amount"] == Decimal("96.80")  # Wednesday: the card
    assert payouts["2026-03-05"]["amount"] == Decimal("-30.00")  # Thursday: the refund
    assert payouts["2026-03-05"]["items"][0]["kind"] == "refund"
    assert payouts["2026-03-06"]["amount"] == Decimal("500.00")  # Friday: ACH, settled Wednesday
    assert payouts["2026-03-06"]["items"][0]["payment"] == ach["id"]


def test_fees_and_payout_days_are_set_per_account(sandbox, clock):
    merchant = Merchant(
        sandbox,
        card_fee_percent="3.5",
        card_fee_fixed="0.25",
        ach_fee_percent="0.8",
        ach_fee_fixed="0.00",
        payout_delay_days=1,
        ach_settlement_days=1,
    )
    merchant.paid(merchant.token(), "100.00")
    merchant.paid(merchant.token(account_number="000123456789"), "1000.00")

    clock.move_to(START + dt.timedelta(days=7))
    payouts = by_day(merchant)

    assert payouts["2026-03-03"]["items"][0]["fee"] == Decimal("3.75")
    assert payouts["2026-03-04"]["items"][0]["fee"] == Decimal("8.00")


def test_weekend_money_is_paid_out_on_business_days(merchant, clock):
    clock.move_to(START + dt.timedelta(days=4))  # Friday
    merchant.paid(merchant.token(), "10.00")
    clock.move_to(START + dt.timedelta(days=5))  # Saturday
    merchant.paid(merchant.token(), "20.00")

    clock.move_to(START + dt.timedelta(days=14))

    payouts = merchant.payouts()
    assert [payout["arrival_date"] for payout in payouts] == ["2026-03-10"]  # Tuesday
    assert len(payouts[0]["items"]) == 2  # Friday + 2, and Saturday counted from Monday


def test_payouts_are_listed_since_a_date(merchant, clock):
    merchant.paid(merchant.token(), "10.00")
    clock.move_to(START + dt.timedelta(days=7))
    merchant.paid(merchant.token(), "20.00")
    clock.move_to(START + dt.timedelta(days=14))

    assert len(merchant.payouts()) == 2
    assert [p["arrival_date"] for p in merchant.payouts(since="2026-03-05")] == ["2026-03-11"]
    assert day(merchant.payouts()[0]["arrival_date"]).weekday() == 2


def test_a_refund_is_at_most_what_is_left(merchant):
    card = merchant.paid(merchant.token(), "100.00")

    first = merchant.post(f"/v1/payments/{card['id']}/refunds", {"amount": "60.00"}, key="a")
    too_much = merchant.post(f"/v1/payments/{card['id']}/refunds", {"amount": "60.00"}, key="b")
    rest = merchant.post(f"/v1/payments/{card['id']}/refunds", {}, key="c")

    assert first.status_code == rest.status_code == 200
    assert too_much.status_code == 400
    assert rest.json()["amount"] == 40
    assert merchant.payment(card["id"])["amount_refunded"] == Decimal("100.00")
    assert [kind for kind, _ in merchant.kinds()].count("payment.refunded") == 2


def test_funds_received_are_an_event_with_the_memo(merchant):
    funds = merchant.receive("1200.00", "Invoice 1042")

    event = merchant.events()[-1]
    assert event["type"] == "funds.received"
    assert event["data"]["object"]["memo"] == "Invoice 1042"
    assert event["data"]["object"]["id"] == funds["id"]
