"""Two runners at once charge each invoice once: the Attempt row for (invoice, 1) is the lock."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
import time_machine
from django.db import connections

from arbridge.autopay import runner
from arbridge.autopay.models import Attempt, AutopaySettings, Enrollment, Rule
from arbridge.ledger.models import Customer, Invoice, Payment
from arbridge.payments.models import SavedMethod

pytestmark = pytest.mark.django_db(transaction=True)
DUE = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def billed(partner, processor_settings, sandbox_processor, tokenize) -> list[Invoice]:
    """Twenty invoices of an enrolled customer, all due today."""
    settings = AutopaySettings.of(partner)
    settings.enabled = True
    settings.save()
    Rule.objects.create(partner=partner, trigger=Rule.Trigger.AFTER_DUE, days=0)
    customer = Customer.objects.create(partner=partner, name="Globex")
    details = sandbox_processor.save_method(tokenize(), "Globex", "ap@globex.example")
    method = SavedMethod.objects.create(
        partner=partner,
        customer=customer,
        processor="sandbox",
        token=details.token,
        processor_customer=details.processor_customer,
        kind="card",
        brand=details.brand,
        last4=details.last4,
    )
    Enrollment.enroll(method, source=Enrollment.Source.PARTNER)
    return [
        Invoice.objects.create(
            partner=partner,
            customer=customer,
            number=f"INV-{n}",
            issue_date=dt.date(2026, 11, 1),
            due_date=DUE.date(),
            total=Decimal("25.00"),
        )
        for n in range(20)
    ]


def charges_at_processor(sandbox_processor) -> list[str]:
    events, _ = sandbox_processor.events("")
    return [e.reference for e in events if e.kind == "payment.succeeded"]


def test_two_runners_at_once_charge_each_invoice_once(billed, sandbox_processor):
    start = threading.Barrier(2)
    reports: list[runner.Report] = []

    def work() -> None:
        try:
            start.wait(timeout=30)
            reports.append(runner.run())
        finally:
            connections.close_all()

    with time_machine.travel(DUE, tick=True):
        threads = [threading.Thread(target=work) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert len(reports) == 2
    assert sum(r.succeeded for r in reports) == 20
    assert Attempt.objects.count() == 20
    assert Payment.objects.filter(status="succeeded").count() == 20
    assert len(charges_at_processor(sandbox_processor)) == 20
    assert all(i.balance == 0 for i in Invoice.objects.all())


def test_a_runner_that_read_the_due_list_before_another_charged_charges_nothing(
    partner, billed, sandbox_processor
):
    with time_machine.travel(DUE, tick=True):
        settings = AutopaySettings.of(partner)
        late = runner.Report()
        due = runner.due_invoices(settings, DUE, late)
        runner.run()  # the other runner, all the way through
        payment_settings = runner.PaymentSettings.of(partner)
        processor = runner.processor_for(payment_settings)
        for item in due:
            runner.charge(item, settings, payment_settings, processor, DUE, late)

    assert (late.charged, late.lost_races) == (0, 20)
    assert len(charges_at_processor(sandbox_processor)) == 20


def test_a_run_charging_in_threads_charges_each_invoice_once(billed, sandbox_processor, settings):
    settings.AUTOPAY_CHARGE_THREADS = 3
    try:
        with time_machine.travel(DUE, tick=True):
            report = runner.run()
            again = runner.run()
    finally:
        connections.close_all()

    assert (report.charged, report.succeeded, again.charged) == (20, 20, 0)
    assert Attempt.objects.filter(status="succeeded").count() == 20
    assert len(charges_at_processor(sandbox_processor)) == 20
    assert all(i.balance == 0 for i in Invoice.objects.all())
