"""Auto pay never charges an invoice with a pending ACH payment, disputed or held as Unmatched."""

from decimal import Decimal

import pytest

from arbridge.autopay import runner
from arbridge.autopay.models import Attempt
from arbridge.core import clock
from arbridge.integrations.models import ExceptionItem
from arbridge.ledger.models import Dispute, Payment
from tests.autopay.fixtures import fresh


@pytest.fixture
def due(monday, globex, enroll):
    """Globex's invoice, enrolled, on its due date."""
    enroll(globex["invoice"].customer)
    monday.move_to("2026-11-27 09:00Z")
    return globex["invoice"]


def test_a_disputed_invoice_is_not_charged_until_the_dispute_is_resolved(partner, due, run_autopay):
    dispute = Dispute.objects.create(partner=partner, invoice=due, reason="Hours not agreed")
    assert runner.upcoming(partner.pk) == []

    assert run_autopay().charged == 0
    assert not Attempt.objects.exists()

    dispute.resolved_at = clock.now()
    dispute.save()
    assert run_autopay().succeeded == 1
    assert fresh(due).balance == Decimal("0.00")


@pytest.mark.parametrize("kind", [ExceptionItem.Kind.UNMATCHED, ExceptionItem.Kind.CONFLICT])
def test_an_invoice_held_by_an_open_exception_is_not_charged(partner, due, run_autopay, kind):
    held = ExceptionItem.objects.create(
        partner=partner, kind=kind, title="Held", entity="invoice", local_id=due.pk
    )

    assert run_autopay().charged == 0

    held.resolve()
    assert run_autopay().succeeded == 1


def test_another_exception_or_another_partners_does_not_hold_it(
    partner, other_partner, due, run_autopay
):
    ExceptionItem.objects.create(
        partner=other_partner, kind="unmatched", title="Not ours", entity="invoice", local_id=due.pk
    )
    ExceptionItem.objects.create(
        partner=partner, kind="other", title="A note", entity="invoice", local_id=due.pk
    )

    assert run_autopay().succeeded == 1


def test_a_pending_ach_payment_holds_the_invoice_until_it_settles_or_fails(
    partner, due, run_autopay
):
    pending = Payment.objects.create(
        partner=partner, customer=due.customer, amount=Decimal("150.00"), method="ach"
    )
    pending.allocate(due, Decimal("150.00"))

    assert run_autopay().charged == 0
    assert runner.upcoming(partner.pk) == []

    pending.set_status(Payment.Status.FAILED)  # the debit came back
    report = run_autopay()
    assert report.succeeded == 1
    assert Attempt.objects.get().amount == Decimal("150.00")
