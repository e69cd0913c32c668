"""Auto pay's fixtures: QuickBooks' sandbox, the sandbox processor, real SMTP, a moving clock.

Time moves with time-machine; the processor and QuickBooks sandboxes read the
same clock, so an ACH debit settles or comes back as days pass.
"""

import datetime as dt
from collections.abc import Callable

import pytest
import time_machine

from arbridge.autopay import runner
from arbridge.autopay.models import AutopaySettings, Enrollment, Rule
from arbridge.ledger.models import Customer, Invoice
from arbridge.payments import events
from arbridge.payments.models import SavedMethod
from tests.integrations.qbo.fixtures import local

# A Monday morning, so business days are plain to count.
MONDAY = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def monday():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def autopay(partner, processor_settings) -> AutopaySettings:
    """Acme turns auto pay on: charge on the due date, retries on the default schedule."""
    settings = AutopaySettings.of(partner)
    settings.enabled = True
    settings.save()
    Rule.objects.create(partner=partner, priority=10, trigger=Rule.Trigger.AFTER_DUE, days=0)
    return settings


@pytest.fixture
def globex(monday, qbo, company, sync, autopay) -> dict:
    """Globex owes 150.00 in QuickBooks, due Friday 2026-11-27, synced into arbridge."""
    customer = company.customer("Globex", "ap@globex.example")
    remote = company.invoice(customer, "100.00", "50.00", DueDate="2026-11-27")
    sync(qbo)
    return {"customer": customer, "remote": remote, "invoice": local(remote)}


@pytest.fixture
def enroll(sandbox_processor, tokenize) -> Callable[..., Enrollment]:
    """Return a function that saves a test card (or account) for a customer and enrolls it."""

    def enroll(customer: Customer, number: str = "4242424242424242", **kwargs) -> Enrollment:
        if number.startswith("000"):
            token = tokenize(account_number=number)
            kwargs.setdefault("authorization", "I authorize Acme IT to debit my account.")
        else:
            token = tokenize(number)
        details = sandbox_processor.save_method(token, customer.name, customer.email)
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


@pytest.fixture
def run_autopay(partner, django_capture_on_commit_callbacks) -> Callable[[], runner.Report]:
    """Return a function that runs what the workers would at this moment: events, then auto pay."""

    def run() -> runner.Report:
        with django_capture_on_commit_callbacks(execute=True):
            events.poll_processor(partner)
        with django_capture_on_commit_callbacks(execute=True):
            return runner.run()

    return run


def fresh(invoice: Invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)
