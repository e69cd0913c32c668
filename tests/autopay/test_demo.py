"""The demo's auto pay: enrolled customers, a rule, charges made and coming up, a soft decline."""

import datetime as dt
from decimal import Decimal

import pytest

from arbridge.autopay import runner
from arbridge.autopay.demo import seed_demo
from arbridge.autopay.models import Attempt, AutopaySettings, Enrollment, Rule
from arbridge.ledger.models import Customer, Invoice
from arbridge.payments.models import PaymentSettings
from arbridge.payments.processors.sandbox import provision


@pytest.fixture
def billed(partner, monday) -> list[Customer]:
    """Seven customers, each with an invoice overdue and one due in two weeks."""
    customers = []
    for n in range(7):
        customer = Customer.objects.create(
            partner=partner, name=f"Customer {n}", email=f"ap{n}@example.com"
        )
        for number, due in ((f"A-{n}", dt.date(2026, 11, 10)), (f"B-{n}", dt.date(2026, 12, 7))):
            Invoice.objects.create(
                partner=partner,
                customer=customer,
                number=number,
                issue_date=due - dt.timedelta(days=30),
                due_date=due,
                total=Decimal("300.00") + n,
            )
        customers.append(customer)
    return customers


def test_the_demo_enrolls_charges_retries_a_soft_decline_and_has_charges_coming_up(
    partner, processor_settings, billed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report = seed_demo(partner)

    assert AutopaySettings.of(partner).enabled
    assert Rule.objects.for_partner(partner).count() == 1
    enrolled = Enrollment.objects.for_partner(partner)
    assert enrolled.count() == 5
    assert all(e.evidence["authorized_by"].startswith("Accounts payable at") for e in enrolled)
    paid = Attempt.objects.filter(status="succeeded")
    assert paid.count() == 4  # the four good cards' overdue invoices
    assert all(a.invoice.balance == 0 for a in paid)
    [first, retried] = Attempt.objects.filter(status="failed").order_by("number")
    assert (first.number, retried.number) == (1, 2)
    assert {first.decline_code, retried.decline_code} == {"insufficient_funds"}
    assert retried.next_step == "retry" and retried.next_attempt_at > retried.created_at
    coming = runner.upcoming(partner.pk)
    assert {u.invoice.number[:1] for u in coming} == {"A", "B"}  # the retry, and what falls due
    assert sum(1 for u in coming if u.retry) == 1
    assert report.failed == 1


def test_at_the_next_start_the_cards_are_saved_at_the_new_processor_account(
    partner, processor_settings, processor_server, billed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo(partner)
    # The server restarted: a new account at the sandbox processor.
    settings = PaymentSettings.of(partner)
    settings.credentials = provision(processor_server.url, "Acme IT")
    settings.save()

    with django_capture_on_commit_callbacks(execute=True):
        seed_demo(partner)

    enrolled = Enrollment.objects.for_partner(partner).select_related("method")
    assert enrolled.count() == 5
    assert all(e.is_active or e.status == "suspended" for e in enrolled)
    assert Attempt.objects.filter(status="succeeded").count() == 4


def test_without_the_sandbox_processor_or_invoices_it_waits(partner, processor_settings):
    assert seed_demo(partner) is None
    assert not Enrollment.objects.exists()
