from decimal import Decimal

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbridge.ledger.models import Deposit, DepositLine, Payment
from tests.ledger.conftest import make_payment

D = Decimal
amounts = st.integers(1, 1_000_000).map(lambda n: D(n).scaleb(-2))


def test_a_payout_is_its_payments_less_fees(partner):
    deposit = Deposit.objects.create(partner=partner, amount=D("193.80"))
    for amount in ("100.00", "100.00"):
        payment = make_payment(partner, amount, status=Payment.Status.SUCCEEDED)
        DepositLine.objects.create(
            partner=partner, deposit=deposit, payment=payment, amount=D(amount)
        )
    DepositLine.objects.create(
        partner=partner, deposit=deposit, kind=DepositLine.Kind.FEE, amount=D("-6.20")
    )

    assert deposit.lines_total() == D("193.80")
    assert deposit.is_balanced()


def test_an_empty_deposit_is_balanced_only_at_zero(partner):
    assert Deposit.objects.create(partner=partner, amount=D("0")).is_balanced()
    assert not Deposit.objects.create(partner=partner, amount=D("0.01")).is_balanced()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payments=st.lists(amounts, min_size=1, max_size=6), fees=st.lists(amounts, max_size=6))
def test_the_lines_add_up_to_the_payout_to_the_cent(partner, payments, fees):
    payout = sum(payments) - sum(fees, D(0))
    with transaction.atomic():
        deposit = Deposit.objects.create(partner=partner, amount=payout)
        DepositLine.objects.bulk_create(
            [DepositLine(partner=partner, deposit=deposit, amount=a) for a in payments]
            + [
                DepositLine(partner=partner, deposit=deposit, kind="fee", amount=-fee)
                for fee in fees
            ]
        )
        assert deposit.is_balanced()
        deposit.amount += D("0.01")
        assert not deposit.is_balanced()
        transaction.set_rollback(True)
