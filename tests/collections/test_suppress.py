"""Reminders leave alone an invoice auto pay is about to charge, and resume when it will not."""

import datetime as dt
from decimal import Decimal

import pytest

from arbridge.autopay import runner
from arbridge.autopay.models import AutopaySettings, Enrollment, Rule
from arbridge.collections import reminders
from arbridge.ledger.models import Contact, Customer, Invoice
from arbridge.payments.models import SavedMethod
from tests.collections.conftest import DUE, make_invoice

pytest_plugins = ["tests.payments.fixtures", "tests.portal.fixtures"]

HANK = "hank@globex.example"


@pytest.fixture
def autopay(partner, processor_settings) -> AutopaySettings:
    """Acme charges enrolled customers on the due date."""
    settings = AutopaySettings.of(partner)
    settings.enabled = True
    settings.save()
    Rule.objects.create(partner=partner, priority=10, trigger=Rule.Trigger.AFTER_DUE, days=0)
    return settings


@pytest.fixture
def enroll(sandbox_processor, tokenize):
    """Return a function that saves a sandbox test card for a customer and enrolls it."""

    def enroll(customer: Customer, number: str = "4242424242424242", **kwargs) -> Enrollment:
        details = sandbox_processor.save_method(tokenize(number), customer.name, customer.email)
        method = SavedMethod.objects.create(
            partner_id=customer.partner_id,
            customer=customer,
            processor="sandbox",
            token=details.token,
            processor_customer=details.processor_customer,
            kind=details.kind.value,
            brand=details.brand,
            last4=details.last4,
            funding=details.funding.value,
        )
        return Enrollment.enroll(method, source=Enrollment.Source.PARTNER, **kwargs)

    return enroll


def reminded(inbox, address: str = HANK) -> list:
    """Return the reminders (not auto pay's own notices) sent to an address."""
    return [m for m in inbox.to(address) if m["Message-ID"].startswith("<arbridge-reminder-")]


def charge_now(django_capture_on_commit_callbacks) -> runner.Report:
    with django_capture_on_commit_callbacks(execute=True):
        return runner.run()


def test_an_invoice_auto_pay_will_charge_gets_no_reminder(day, overdue, autopay, enroll, inbox):
    enroll(overdue.customer)
    for n in range(-5, 2):
        day(n)

    assert reminded(inbox) == []


def test_without_auto_pay_on_or_active_enrollment_reminders_go(
    day, partner, overdue, autopay, enroll, inbox
):
    enrollment = enroll(overdue.customer)
    autopay.enabled = False
    autopay.save()
    day(-3)
    assert len(reminded(inbox)) == 1

    autopay.enabled = True
    autopay.save()
    enrollment.suspend("The card was removed.")
    day(0)
    assert len(reminded(inbox)) == 2


def test_over_the_cap_or_outside_the_pilot_reminders_go(
    day, partner, globex, autopay, enroll, inbox
):
    Rule.objects.update(amount_cap=Decimal("1000.00"))
    make_invoice(globex, "INV-1001", "1500.00")  # over the cap: auto pay asks, so do we
    make_invoice(globex, "INV-1002", "900.00")  # auto pay charges it
    enroll(globex)
    day(0)
    (message,) = reminded(inbox)
    assert "INV-1001" in message.get_content() and "INV-1002" not in message.get_content()

    autopay.pilot = True  # Globex is not in the pilot: nothing will charge it
    autopay.save()
    day(3)
    assert "INV-1002" in reminded(inbox)[1].get_content()


def test_a_declined_charge_with_a_retry_holds_reminders_and_a_hard_decline_frees_them(
    day, partner, globex, autopay, enroll, inbox, django_capture_on_commit_callbacks
):
    soft = make_invoice(globex, "INV-1001", "150.00")
    enroll(globex, "4000000000009995")  # insufficient funds: retried in 3 days
    day(0, run=False)
    charge_now(django_capture_on_commit_callbacks)
    day(0)
    day(1)
    assert reminded(inbox) == []

    initech = Customer.objects.create(partner=partner, name="Initech")
    Contact.objects.create(
        partner=partner, customer=initech, email="bill@initech.example", is_billing=True
    )
    hard = make_invoice(initech, "INV-2001", "80.00", due=DUE + dt.timedelta(days=1))
    enroll(initech, "4000000000000341")  # every charge declined for good: pay another way
    charge_now(django_capture_on_commit_callbacks)
    day(2)
    assert reminded(inbox) == []
    (message,) = reminded(inbox, "bill@initech.example")
    assert "INV-2001" in message.get_content()
    assert soft.pk in held(partner) and hard.pk not in held(partner)


def held(partner) -> set[int]:
    everything = Invoice.objects.filter(partner=partner)
    return set(everything.values_list("pk", flat=True)) - set(
        reminders.chasable(partner.pk).values_list("pk", flat=True)
    )


def test_the_suppressor_agrees_with_auto_pays_own_schedule(day, partner, autopay, enroll):
    """Rules by priority with terms, triggers and caps: held exactly where a charge is coming."""
    Rule.objects.all().delete()
    Rule.objects.create(partner=partner, priority=1, trigger="before_due", days=2, terms="Net 15")
    Rule.objects.create(
        partner=partner, priority=2, trigger="after_due", days=5, amount_cap=Decimal("500")
    )
    Rule.objects.create(partner=partner, priority=3, trigger="after_created", days=1, terms="COD")
    Rule.objects.create(partner=partner, priority=4, trigger="after_due", days=9, active=False)
    pilot, other = (Customer.objects.create(partner=partner, name=n) for n in ("Pilot", "Other"))
    enroll(pilot, pilot=True)
    enroll(other)
    for i, (terms, total) in enumerate(
        [(" net 15 ", "900"), ("Net 30", "400"), ("Net 30", "600"), ("cod", "50"), ("", "501")]
    ):
        for customer in (pilot, other):
            invoice = make_invoice(customer, f"INV-{customer.pk}-{i}", total)
            Invoice.objects.filter(pk=invoice.pk).update(terms=terms)
    day(-10, run=False)

    for is_pilot in (False, True):
        autopay.pilot = is_pilot
        autopay.save()
        coming = {u.invoice.pk for u in runner.upcoming(partner.pk, days=3650) if not u.over_cap}
        assert coming and held(partner) == coming
