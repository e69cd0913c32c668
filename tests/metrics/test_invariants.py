"""Properties of any ledger: the buckets add up to AR, and rebuilt history ends at today's AR."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbridge.ledger.models import Credit, Customer, Invoice, Payment
from arbridge.metrics import figures, history

TODAY = dt.date(2025, 4, 15)

invoice_specs = st.lists(
    st.fixed_dictionaries(
        {
            "currency": st.sampled_from(["USD", "EUR", "JPY"]),
            "cents": st.integers(min_value=1, max_value=10_000_000),
            "issued": st.integers(min_value=0, max_value=400),  # days before today
            "terms": st.one_of(st.none(), st.integers(min_value=0, max_value=60)),
            "paid": st.sampled_from([0, 0, 25, 50, 100]),  # percent
            "credit": st.sampled_from([0, 0, 10]),
            "void": st.booleans(),
            "archived": st.sampled_from([False, False, False, True]),
        }
    ),
    max_size=25,
)


class Rollback(Exception):
    pass


def build(customer: Customer, n: int, spec: dict) -> None:
    currency = spec["currency"]
    total = Decimal(spec["cents"]).scaleb(-2)
    if currency == "JPY":
        total = total.quantize(Decimal(1)) or Decimal(1)
    issued = TODAY - dt.timedelta(days=spec["issued"])
    invoice = Invoice.objects.create(
        partner_id=customer.partner_id,
        customer=customer,
        number=f"P-{n}",
        currency=currency,
        issue_date=issued,
        due_date=None if spec["terms"] is None else issued + dt.timedelta(days=spec["terms"]),
        total=total,
    )
    if spec["void"]:
        invoice.void()
        return
    paid = figures.quantize(total * spec["paid"] / 100, currency)
    if paid > 0:
        payment = Payment.objects.create(
            partner_id=customer.partner_id,
            customer=customer,
            amount=paid,
            currency=currency,
            date=min(issued + dt.timedelta(days=7), TODAY),
            status=Payment.Status.SUCCEEDED,
        )
        payment.allocate(invoice, paid)
    credit = figures.quantize((total - paid) * spec["credit"] / 100, currency)
    if credit > 0:
        Credit.apply(invoice, credit, date=min(issued + dt.timedelta(days=3), TODAY))
    if spec["archived"]:
        invoice.archive()


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(specs=invoice_specs)
def test_buckets_add_up_to_ar_and_history_ends_at_it(partner, specs):
    try:
        with transaction.atomic():
            customer = Customer.objects.create(partner=partner, name="Prop")
            for n, spec in enumerate(specs):
                build(customer, n, spec)
            owed = {}
            for invoice in Invoice.objects.for_partner(partner):
                if invoice.archived or invoice.is_void or invoice.balance == 0:
                    continue
                owed[invoice.currency] = owed.get(invoice.currency, 0) + invoice.balance
            aging = figures.aging(partner, TODAY)
            assert {c: a.total for c, a in aging.items()} == owed
            assert figures.outstanding(partner) == owed
            unpaid = figures.unpaid(partner)
            for currency, row in aging.items():
                assert row.count == unpaid.filter(currency=currency).count()
                per_customer = figures.aging_by_customer(partner, TODAY)
                assert sum(r.total for r in per_customer if r.currency == currency) == row.total
            # Walked back to before the first invoice, nothing was owed: every balance
            # is its total less the settlements history reads.
            past = history.read(partner, TODAY - dt.timedelta(days=500))
            assert {c: past.owed(c, TODAY - dt.timedelta(days=450)) for c in owed} == dict.fromkeys(
                owed, 0
            )
            assert {c: figures.money(past.owed(c, TODAY), c) for c in owed} == owed
            raise Rollback
    except Rollback:
        pass
