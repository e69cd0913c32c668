"""A removed or expired method suspends the enrollment; the customer and the partner are told."""

import datetime as dt
from decimal import Decimal

from arbridge.autopay import runner
from arbridge.autopay.models import Attempt, Enrollment
from arbridge.core import clock
from arbridge.integrations.models import ExceptionItem
from tests.autopay.fixtures import fresh


def test_a_removed_method_suspends_auto_pay_and_tells_both(
    partner, monday, globex, enroll, run_autopay, inbox
):
    invoice = globex["invoice"]
    enrollment = enroll(invoice.customer)
    method = enrollment.method
    method.removed_at = clock.now()
    method.save()

    monday.move_to("2026-11-27 09:00Z")
    report = run_autopay()
    again = run_autopay()

    assert (report.suspended, report.charged, again.suspended) == (1, 0, 0)
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.SUSPENDED
    assert enrollment.suspended_reason == "The payment method was removed."
    [email] = inbox.to("ap@globex.example")
    assert "Auto pay is paused" in email["Subject"]
    assert "http://localhost:8000/portal/acme-it/" in email.get_content()
    [exception] = ExceptionItem.objects.filter(entity="customer", local_id=invoice.customer_id)
    assert exception.title == "Auto pay of Globex is suspended"
    assert exception.status == ExceptionItem.Status.OPEN
    assert not Attempt.objects.exists()
    assert runner.upcoming(partner.pk) == []


def test_a_method_deleted_outright_suspends_too(monday, globex, enroll, run_autopay, inbox):
    enrollment = enroll(globex["invoice"].customer)
    enrollment.method.delete()

    assert run_autopay().suspended == 1
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.SUSPENDED
    assert len(inbox.to("ap@globex.example")) == 1


def test_an_expired_card_suspends_auto_pay_and_tells_both(
    monday, globex, enroll, run_autopay, inbox
):
    invoice = globex["invoice"]
    enrollment = enroll(invoice.customer, "4000000000000069")  # every charge: expired_card

    for day in range(10):
        monday.move_to(dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC) + dt.timedelta(days=day))
        run_autopay()

    [attempt] = Attempt.objects.all()
    assert (attempt.decline_code, attempt.next_step) == ("expired_card", "update_method")
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.SUSPENDED
    assert fresh(invoice).balance == Decimal("150.00")
    [failure] = inbox.to("ap@globex.example")
    assert "failed" in failure["Subject"]
    assert "The customer updates the payment method" in failure.get_content()
    [exception] = ExceptionItem.objects.filter(entity="invoice", local_id=invoice.pk)
    assert "Auto pay failed on invoice" in exception.title


def test_enrolling_again_with_a_new_card_resumes(monday, globex, enroll, run_autopay):
    invoice = globex["invoice"]
    enrollment = enroll(invoice.customer)
    enrollment.method.removed_at = clock.now()
    enrollment.method.save()
    run_autopay()

    enroll(invoice.customer, "5555555555554444")
    monday.move_to("2026-11-27 09:00Z")

    assert run_autopay().succeeded == 1
    assert Attempt.objects.get().method_brand == "mastercard"
