"""Declines over billing cycles: hard ones stop, soft ones retry within the networks' limits."""

import datetime as dt
from decimal import Decimal

from arbridge.autopay.models import Attempt, Enrollment
from arbridge.integrations.models import ExceptionItem
from arbridge.ledger.models import Customer, Invoice
from tests.autopay.fixtures import fresh

DUE = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


def days(monday, run_autopay, count: int, start: dt.datetime = DUE) -> None:
    """Run auto pay once a day, at 09:00, for `count` days from `start`."""
    for day in range(count):
        monday.move_to(start + dt.timedelta(days=day))
        run_autopay()


def attempts(invoice: Invoice) -> list[Attempt]:
    return list(Attempt.objects.filter(invoice=invoice).order_by("number"))


def test_a_hard_decline_is_never_retried_and_the_partner_sees_it(
    monday, globex, enroll, run_autopay, inbox
):
    invoice = globex["invoice"]
    enroll(invoice.customer, "4000000000009979")  # stolen

    days(monday, run_autopay, 20)

    [attempt] = attempts(invoice)
    assert (attempt.status, attempt.decline_code, attempt.next_step) == (
        "failed",
        "stolen_card",
        "stop",
    )
    assert fresh(invoice).balance == Decimal("150.00")
    [exception] = ExceptionItem.objects.filter(entity="invoice", local_id=invoice.pk)
    assert "Auto pay failed on invoice" in exception.title
    [failure] = inbox.to("ap@globex.example")
    assert "failed" in failure["Subject"]
    assert "http://localhost:8000/portal/acme-it/" in failure.get_content()


def test_a_soft_decline_retries_after_3_5_and_7_days_then_stops(
    monday, globex, enroll, run_autopay
):
    invoice = globex["invoice"]
    enroll(invoice.customer, "4000000000009995")  # insufficient funds

    days(monday, run_autopay, 30)

    tries = attempts(invoice)
    assert [a.created_at.date() for a in tries] == [
        dt.date(2026, 11, 27),
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 5),
        dt.date(2026, 12, 12),
    ]
    assert {a.decline_code for a in tries} == {"insufficient_funds"}
    assert [a.next_step for a in tries] == ["retry", "retry", "retry", "stop"]


def test_visa_soft_declines_stop_at_15_retries_in_30_days(
    autopay, monday, globex, enroll, run_autopay
):
    autopay.retry_days = ",".join(["1"] * 25)
    autopay.save()
    invoice = globex["invoice"]
    enroll(invoice.customer, "4000000000000119")  # issuer not available

    days(monday, run_autopay, 28)

    tries = attempts(invoice)
    assert len(tries) == 16  # the first charge and 15 retries
    assert tries[-1].next_step == "stop"
    assert "limit" in tries[-1].message


def test_mastercard_retries_at_most_10_in_24_hours(partner, monday, globex, enroll, run_autopay):
    customer = globex["invoice"].customer
    for n in range(11):
        Invoice.objects.create(
            partner=partner,
            customer=customer,
            number=f"MC-{n}",
            issue_date=dt.date(2026, 11, 1),
            due_date=dt.date(2026, 11, 27),
            total=Decimal("10.00"),
        )
    enroll(customer, "5100000000009995")  # Mastercard, insufficient funds

    days(monday, run_autopay, 5)  # declined on the 27th, retried from the 30th

    retried = Attempt.objects.filter(number=2).order_by("created_at")
    on_the_30th = [a for a in retried if a.created_at.date() == dt.date(2026, 11, 30)]
    assert len(on_the_30th) == 10
    assert retried.count() == 12  # the last two on December 1st, a day later


def test_mastercard_advice_01_asks_the_customer_to_update_the_card(
    monday, globex, enroll, run_autopay, inbox
):
    invoice = globex["invoice"]
    enrollment = enroll(invoice.customer, "5100000000000101")

    days(monday, run_autopay, 10)

    [attempt] = attempts(invoice)
    assert (attempt.advice_code, attempt.next_step) == ("01", "update_method")
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.SUSPENDED
    [failure] = inbox.to("ap@globex.example")
    assert "The customer updates the payment method" in failure.get_content()


def test_mastercard_advice_03_is_never_retried(monday, globex, enroll, run_autopay):
    invoice = globex["invoice"]
    enroll(invoice.customer, "5100000000000103")

    days(monday, run_autopay, 10)

    [attempt] = attempts(invoice)
    assert (attempt.advice_code, attempt.next_step) == ("03", "stop")


def test_ach_r01_is_re_presented_at_most_twice(monday, globex, enroll, run_autopay):
    invoice = globex["invoice"]
    enroll(invoice.customer, "000222222201")  # fails R01 a business day after each debit

    days(monday, run_autopay, 21)

    tries = attempts(invoice)
    assert len(tries) == 3
    assert [a.decline_code for a in tries] == ["R01", "R01", "R01"]
    assert [a.next_step for a in tries] == ["retry", "retry", "stop"]
    assert fresh(invoice).balance == Decimal("150.00")


def test_ach_r29_needs_the_customer_to_authorize_again(monday, globex, enroll, run_autopay):
    invoice = globex["invoice"]
    enrollment = enroll(invoice.customer, "000111111129")  # settles, then comes back R29

    days(monday, run_autopay, 10)

    [attempt] = attempts(invoice)
    assert (attempt.decline_code, attempt.next_step) == ("R29", "reauthorize")
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.SUSPENDED
    assert fresh(invoice).balance == Decimal("150.00")


def test_an_ach_debit_that_settles_sends_the_receipt_then(
    monday, globex, enroll, run_autopay, inbox
):
    invoice = globex["invoice"]
    enroll(invoice.customer, "000123456789")

    days(monday, run_autopay, 1)
    assert attempts(invoice)[0].status == "pending"
    assert inbox.messages == []
    days(monday, run_autopay, 5, DUE + dt.timedelta(days=1))

    [attempt] = attempts(invoice)
    assert attempt.status == "succeeded"
    assert fresh(invoice).balance == Decimal("0.00")
    assert len(inbox.to("ap@globex.example")) == 1


def test_other_customers_are_not_charged(partner, monday, globex, enroll, run_autopay):
    other = Customer.objects.create(partner=partner, name="Initech")
    Invoice.objects.create(
        partner=partner,
        customer=other,
        number="IN-1",
        issue_date=dt.date(2026, 11, 1),
        due_date=dt.date(2026, 11, 27),
        total=Decimal("10.00"),
    )
    enroll(globex["invoice"].customer)

    days(monday, run_autopay, 1)

    assert list(Attempt.objects.values_list("invoice__customer__name", flat=True)) == ["Globex"]
