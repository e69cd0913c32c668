"""ACH debits: settlement after business days, and returns, as the clock moves."""

import datetime as dt

import pytest

from tests.sandbox.processor.api import Merchant
from tests.sandbox.processor.conftest import START

WEDNESDAY = START + dt.timedelta(days=2)


def debit(merchant, account_number: str = "000123456789") -> dict:
    payment = merchant.paid(merchant.token(account_number=account_number), "500.00")
    assert payment["status"] == "pending"
    return payment


def test_a_debit_settles_after_two_business_days(merchant, clock):
    payment = debit(merchant)

    clock.move_to(WEDNESDAY - dt.timedelta(seconds=1))
    assert merchant.payment(payment["id"])["status"] == "pending"
    assert merchant.events() == []
    clock.move_to(WEDNESDAY)
    settled = merchant.payment(payment["id"])

    assert settled["status"] == "succeeded"
    assert settled["succeeded_at"] == "2026-03-04T15:00:00Z"
    assert merchant.kinds() == [("payment.succeeded", payment["id"])]


def test_weekends_do_not_count(merchant, clock):
    clock.move_to(START + dt.timedelta(days=4))  # Friday
    payment = debit(merchant)

    assert payment["settles_at"] == "2026-03-10T15:00:00Z"  # Tuesday


def test_a_weekend_start_counts_from_monday(merchant, clock):
    clock.move_to(START + dt.timedelta(days=5))  # Saturday
    payment = debit(merchant)

    assert payment["settles_at"] == "2026-03-10T15:00:00Z"  # Tuesday


def test_the_slow_account_settles_after_four_business_days(merchant, clock):
    payment = debit(merchant, "000444444444")

    assert payment["settles_at"] == "2026-03-06T15:00:00Z"  # Friday


def test_settlement_days_are_set_per_account(sandbox, clock):
    merchant = Merchant(sandbox, ach_settlement_days=3)

    assert debit(merchant)["settles_at"] == "2026-03-05T15:00:00Z"  # Thursday


@pytest.mark.parametrize(
    ("account_number", "code"),
    [
        ("000111111101", "R01"),
        ("000111111102", "R02"),
        ("000111111103", "R03"),
        ("000111111110", "R10"),
        ("000111111129", "R29"),
    ],
)
def test_a_return_comes_back_two_banking_days_after_settlement(
    merchant, clock, account_number, code
):
    payment = debit(merchant, account_number)
    friday = START + dt.timedelta(days=4)

    clock.move_to(WEDNESDAY)
    assert merchant.payment(payment["id"])["status"] == "succeeded"
    clock.move_to(friday - dt.timedelta(seconds=1))
    assert merchant.payment(payment["id"])["status"] == "succeeded"
    clock.move_to(friday)
    returned = merchant.payment(payment["id"])

    assert (returned["status"], returned["return_code"]) == ("returned", code)
    assert returned["returned_at"] == "2026-03-06T15:00:00Z"
    assert returned["error_message"]
    assert [kind for kind in merchant.kinds() if kind[0] != "payout.paid"] == [
        ("payment.succeeded", payment["id"]),
        ("payment.returned", payment["id"]),
    ]
    assert merchant.events()[-1]["data"]["object"]["return_code"] == code


def test_a_jump_past_everything_still_tells_it_in_order(merchant, clock):
    payment = debit(merchant, "000111111101")

    clock.move_to(START + dt.timedelta(days=30))

    assert [kind for kind, _ in merchant.kinds()] == [
        "payment.succeeded",
        "payout.paid",  # Friday: the settled debit
        "payment.returned",  # Friday too, at 15:00, after the payout at midnight
        "payout.paid",  # the next Tuesday: the return taken back
    ]
    assert merchant.payment(payment["id"])["status"] == "returned"


def test_a_debit_can_fail_before_it_settles(merchant, clock):
    payment = debit(merchant, "000222222201")

    clock.move_to(START + dt.timedelta(days=1))
    failed = merchant.payment(payment["id"])
    clock.move_to(START + dt.timedelta(days=30))

    assert (failed["status"], failed["return_code"]) == ("failed", "R01")
    assert merchant.kinds() == [("payment.failed", payment["id"])]
    assert merchant.payouts() == []


def test_a_pending_debit_cannot_be_refunded_or_canceled(merchant):
    payment = debit(merchant)

    refund = merchant.post(f"/v1/payments/{payment['id']}/refunds", {}, key="r1")
    cancel = merchant.post(f"/v1/payments/{payment['id']}/cancel")

    assert refund.status_code == cancel.status_code == 400
