"""Rules: payment terms decide the due date and which rule applies; pilot; cap; rule changes."""

import datetime as dt
from decimal import Decimal

import pytest

from arbridge.autopay import runner
from arbridge.autopay.models import Attempt, Rule, due_date, terms_days
from arbridge.ledger.models import Invoice
from tests.autopay.fixtures import MONDAY, fresh


@pytest.mark.parametrize(
    "terms, days",
    [
        ("Net 30", 30),
        ("net15", 15),
        ("30 days", 30),
        ("2% 10 Net 30", 30),
        ("Due on receipt", 0),
        ("Due upon receipt", 0),
        ("Monthly", None),
        ("", None),
    ],
)
def test_payment_terms_give_the_days_to_pay(terms, days):
    assert terms_days(terms) == days


def local_invoice(customer, number: str, total: str = "80.00", **fields) -> Invoice:
    fields.setdefault("issue_date", dt.date(2026, 11, 20))
    return Invoice.objects.create(
        partner_id=customer.partner_id,
        customer=customer,
        number=number,
        total=Decimal(total),
        **fields,
    )


def test_quickbooks_terms_set_the_due_date_and_choose_the_rule(
    partner, monday, qbo, company, sync, globex, enroll, run_autopay
):
    [net15] = company.query("select * from Term where Name = 'Net 15'")
    remote = company.invoice(
        globex["customer"], "80.00", TxnDate="2026-11-16", SalesTermRef={"value": net15["Id"]}
    )
    sync(qbo)
    invoice = Invoice.objects.get(number=remote["DocNumber"])
    assert (invoice.terms, invoice.due_date) == ("Net 15", dt.date(2026, 12, 1))
    # Net 15 invoices are charged five days before they are due; the rest on the day.
    Rule.objects.create(
        partner=partner, priority=1, trigger=Rule.Trigger.BEFORE_DUE, days=5, terms="net 15"
    )
    enroll(invoice.customer)

    monday.move_to("2026-11-26 09:00Z")
    run_autopay()

    assert list(Attempt.objects.values_list("invoice__number", flat=True)) == [invoice.number]
    assert fresh(invoice).balance == Decimal("0.00")
    assert fresh(globex["invoice"]).balance == Decimal("150.00")  # due Friday, no terms


def test_an_invoice_without_a_due_date_is_due_as_its_terms_say(
    partner, monday, globex, enroll, run_autopay
):
    customer = globex["invoice"].customer
    net10 = local_invoice(customer, "T-1", terms="Net 10")  # due 2026-11-30
    unknown = local_invoice(customer, "T-2", terms="When convenient")
    assert (due_date(net10), due_date(unknown)) == (dt.date(2026, 11, 30), None)
    enroll(customer)

    monday.move_to("2026-11-27 09:00Z")
    run_autopay()
    assert not Attempt.objects.filter(invoice=net10).exists()

    monday.move_to("2026-11-30 09:00Z")
    run_autopay()
    assert Attempt.objects.get(invoice=net10).status == "succeeded"
    # With neither a due date nor terms that say one, a due-date rule never charges it.
    assert not Attempt.objects.filter(invoice=unknown).exists()


def test_a_rule_after_creation_charges_an_invoice_with_no_due_date(
    partner, monday, globex, enroll, run_autopay
):
    Rule.objects.all().delete()
    Rule.objects.create(partner=partner, trigger=Rule.Trigger.AFTER_CREATED, days=7)
    invoice = local_invoice(globex["invoice"].customer, "C-1", issue_date=dt.date(2026, 11, 25))
    enroll(invoice.customer)

    monday.move_to("2026-12-01 09:00Z")
    run_autopay()
    assert not Attempt.objects.filter(invoice=invoice).exists()
    monday.move_to("2026-12-02 09:00Z")
    run_autopay()

    assert Attempt.objects.get(invoice=invoice).amount == Decimal("80.00")


def test_the_cap_of_the_rule_that_matches_decides(partner, monday, globex, enroll, run_autopay):
    customer = globex["invoice"].customer
    Rule.objects.all().delete()
    Rule.objects.create(
        partner=partner, priority=1, terms="Net 30", trigger=Rule.Trigger.AFTER_CREATED,
        amount_cap=Decimal("500.00"),
    )  # fmt: skip
    Rule.objects.create(partner=partner, priority=2, trigger=Rule.Trigger.AFTER_CREATED,
                        amount_cap=Decimal("50.00"))  # fmt: skip
    big_net30 = local_invoice(customer, "N-1", "400.00", terms="Net 30")
    big_other = local_invoice(customer, "N-2", "400.00", terms="Net 60")
    enroll(customer)

    run_autopay()

    assert Attempt.objects.get(invoice=big_net30).status == "succeeded"
    assert Attempt.objects.get(invoice=big_other).status == "reminded"
    assert fresh(big_other).balance == Decimal("400.00")


def test_upcoming_lists_the_next_30_days_from_the_rules_as_they_are(
    partner, monday, globex, enroll
):
    customer = globex["invoice"].customer
    later = local_invoice(customer, "U-1", due_date=dt.date(2027, 1, 15))
    enroll(customer)

    soon = runner.upcoming(partner.pk, now=MONDAY)
    assert [(u.invoice.number, u.charge_on) for u in soon] == [
        (globex["invoice"].number, dt.date(2026, 11, 27))
    ]

    Rule.objects.update(trigger=Rule.Trigger.BEFORE_DUE, days=30)
    soon = runner.upcoming(partner.pk, now=MONDAY)
    assert [(u.invoice.number, u.charge_on) for u in soon] == [
        (globex["invoice"].number, dt.date(2026, 11, 23)),  # overdue by the rule: today
        (later.number, dt.date(2026, 12, 16)),
    ]


def test_a_rule_for_an_agreement_type_charges_only_its_invoices(
    partner, monday, globex, enroll, run_autopay
):
    customer = globex["invoice"].customer
    managed = local_invoice(customer, "A-1", agreement="Managed Services", due_date=MONDAY.date())
    project = local_invoice(customer, "A-2", agreement="Project", due_date=MONDAY.date())
    Rule.objects.filter(partner=partner).delete()
    Rule.objects.create(
        partner=partner, trigger=Rule.Trigger.AFTER_DUE, days=0, agreements="managed services"
    )
    enroll(customer)

    run_autopay()

    charged = set(Attempt.objects.values_list("invoice__number", flat=True))
    assert charged == {"A-1"}
    assert fresh(managed).balance == Decimal("0.00")
    assert fresh(project).balance == Decimal("80.00")
