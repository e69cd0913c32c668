"""The runner over billing cycles: charged on the rule's day, once, for what is still owed."""

import datetime as dt
from decimal import Decimal

from arbridge.autopay.models import Attempt, Rule
from arbridge.integrations.models import ExceptionItem
from arbridge.ledger.models import Payment
from tests.autopay.fixtures import fresh


def test_an_invoice_is_charged_on_its_due_date_and_written_back_to_quickbooks(
    monday, globex, enroll, run_autopay, company, inbox
):
    invoice = globex["invoice"]
    enroll(invoice.customer)

    assert run_autopay().charged == 0  # Monday: due Friday
    monday.move_to("2026-11-27 09:00Z")
    report = run_autopay()

    assert report.succeeded == 1
    assert fresh(invoice).balance == Decimal("0.00")
    [attempt] = Attempt.objects.all()
    assert (attempt.status, attempt.amount, attempt.key) == (
        "succeeded",
        Decimal("150.00"),
        f"autopay-{invoice.pk}-1",
    )
    [remote] = company.payments_of(globex["remote"]["Id"])
    assert Decimal(remote["TotalAmt"]) == Decimal("150.00")
    [receipt] = inbox.to("ap@globex.example")
    assert "Receipt: 150.00 USD paid on invoice" in receipt["Subject"]
    assert "visa ending 4242" in receipt.get_content()
    # Runs later charge nothing more.
    monday.move_to("2026-12-04 09:00Z")
    assert run_autopay().charged == 0
    assert Payment.objects.count() == 1


def test_rules_before_due_and_after_creation_first_match_by_priority(
    partner, monday, globex, enroll, run_autopay
):
    invoice = globex["invoice"]
    enroll(invoice.customer)
    Rule.objects.create(
        partner=partner, priority=1, trigger=Rule.Trigger.BEFORE_DUE, days=2, terms="Net 15"
    )  # does not match: the invoice has no terms
    Rule.objects.create(partner=partner, priority=5, trigger=Rule.Trigger.BEFORE_DUE, days=3)

    monday.move_to("2026-11-24 09:00Z")  # Tuesday: three days before Friday
    assert run_autopay().succeeded == 1

    Rule.objects.all().delete()
    rule = Rule.objects.create(partner=partner, trigger=Rule.Trigger.AFTER_CREATED, days=1)
    assert rule.charge_date(invoice) == invoice.issue_date + dt.timedelta(days=1)


def test_a_rule_change_reaches_invoices_already_open(partner, monday, globex, enroll, run_autopay):
    enroll(globex["invoice"].customer)
    monday.move_to("2026-11-25 09:00Z")
    assert run_autopay().charged == 0
    Rule.objects.update(trigger=Rule.Trigger.BEFORE_DUE, days=2)

    assert run_autopay().succeeded == 1


def test_a_payment_made_in_quickbooks_the_hour_before_is_not_charged(
    monday, globex, enroll, run_autopay, company
):
    enroll(globex["invoice"].customer)
    monday.move_to("2026-11-27 08:00Z")
    company.pay(globex["remote"], "150.00")  # not yet synced into arbridge
    monday.move_to("2026-11-27 09:00Z")

    report = run_autopay()

    assert report.succeeded == 0
    assert fresh(globex["invoice"]).balance == Decimal("0.00")
    assert not Payment.objects.filter(origin=Payment.Origin.ARBRIDGE).exists()


def test_a_partial_payment_leaves_only_the_rest_to_charge(
    monday, globex, enroll, run_autopay, company
):
    enroll(globex["invoice"].customer)
    company.pay(globex["remote"], "60.00")
    monday.move_to("2026-11-27 09:00Z")

    run_autopay()

    [attempt] = Attempt.objects.all()
    assert (attempt.status, attempt.amount) == ("succeeded", Decimal("90.00"))
    assert fresh(globex["invoice"]).balance == Decimal("0.00")


def test_a_week_of_downtime_catches_up_with_one_charge_per_invoice(
    monday, qbo, company, sync, globex, enroll, run_autopay
):
    second = company.invoice(globex["customer"], "40.00", DueDate="2026-11-30")
    sync(qbo)
    enroll(globex["invoice"].customer)

    monday.move_to("2026-12-07 09:00Z")  # down since Monday the 23rd
    report = run_autopay()
    again = run_autopay()

    assert (report.succeeded, again.charged) == (2, 0)
    assert Attempt.objects.count() == 2
    assert Payment.objects.count() == 2
    assert sorted(Payment.objects.values_list("amount", flat=True)) == [
        Decimal("40.00"),
        Decimal("150.00"),
    ]
    del second


def test_over_the_cap_reminds_instead_of_charging(
    partner, monday, globex, enroll, run_autopay, inbox
):
    Rule.objects.update(amount_cap=Decimal("100.00"))
    enroll(globex["invoice"].customer)
    monday.move_to("2026-11-27 09:00Z")

    report = run_autopay()

    assert (report.reminded, report.succeeded) == (1, 0)
    assert not Payment.objects.exists()
    [reminder] = inbox.to("ap@globex.example")
    assert "please pay 150.00 USD" in reminder["Subject"]


def test_the_pilot_charges_only_pilot_customers(autopay, monday, globex, enroll, run_autopay):
    autopay.pilot = True
    autopay.save()
    enrollment = enroll(globex["invoice"].customer)
    monday.move_to("2026-11-27 09:00Z")
    assert run_autopay().charged == 0

    enrollment.pilot = True
    enrollment.save()
    assert run_autopay().succeeded == 1


def test_an_invoice_in_the_unmatched_queue_or_with_pending_ach_is_left_alone(
    partner, monday, globex, enroll, run_autopay
):
    invoice = globex["invoice"]
    enroll(invoice.customer)
    held = ExceptionItem.objects.create(
        partner=partner,
        kind=ExceptionItem.Kind.UNMATCHED,
        title="Money that may be this invoice's",
        entity="invoice",
        local_id=invoice.pk,
    )
    monday.move_to("2026-11-27 09:00Z")
    assert run_autopay().charged == 0

    held.resolve()
    pending = Payment.objects.create(
        partner=partner, customer=invoice.customer, amount=Decimal("10.00"), method="ach"
    )
    pending.allocate(invoice, Decimal("10.00"))
    assert run_autopay().charged == 0


def test_the_upcoming_notice_goes_lead_days_before(monday, globex, enroll, run_autopay, inbox):
    enroll(globex["invoice"].customer)
    run_autopay()  # Monday: Friday is 4 days away, the lead is 3
    assert inbox.messages == []
    monday.move_to("2026-11-24 09:00Z")
    run_autopay()
    run_autopay()

    [notice] = inbox.to("ap@globex.example")
    assert "will be charged on 2026-11-27" in notice["Subject"]
