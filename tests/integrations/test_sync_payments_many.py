"""Many new payments in one batch, as an initial sync brings them: made together, checked alike."""

from decimal import Decimal

import pytest

from arbridge.integrations.models import ExceptionItem
from arbridge.integrations.sync import apply_changes
from arbridge.ledger.models import Invoice, Payment
from tests.integrations.test_sync_run import customer, invoice, payment, to_change
from tests.integrations.test_sync_run import qbo as qbo  # noqa: F401 (fixtures)
from tests.integrations.test_sync_run import scripted as scripted  # noqa: F401


@pytest.fixture
def invoices(qbo) -> None:
    apply_changes(
        qbo,
        [
            to_change("customer", customer("1")),
            to_change("invoice", invoice("10", "1001", 150)),
            to_change("invoice", invoice("11", "1002", 80)),
        ],
    )


def balances() -> dict[str, tuple[Decimal, str]]:
    return {
        number: (balance, status)
        for number, balance, status in Invoice.objects.values_list("number", "balance", "status")
    }


def test_payments_new_in_one_batch_settle_their_invoices(qbo, invoices):
    outcomes = apply_changes(
        qbo,
        [
            to_change("payment", payment("20", 100, {"10": 100})),
            to_change("payment", payment("21", 80, {"10": 50, "11": 30})),
            to_change("payment", payment("22", 50, {"11": 50})),
        ],
    )

    assert outcomes == ["created", "created", "created"]
    assert balances() == {"1001": (Decimal("0.00"), "paid"), "1002": (Decimal("0.00"), "paid")}
    assert sorted(Payment.objects.values_list("amount", flat=True)) == [50, 80, 100]


def test_a_payment_beyond_what_is_left_after_the_others_in_its_batch_is_refused(qbo, invoices):
    outcomes = apply_changes(
        qbo,
        [
            to_change("payment", payment("20", 120, {"10": 120})),
            to_change("payment", payment("21", 40, {"10": 40})),
            to_change("payment", payment("22", 30, {"10": 30})),
        ],
    )

    assert outcomes == ["created", "error", "created"]
    assert balances()["1001"] == (Decimal("0.00"), "paid")
    item = ExceptionItem.objects.get()
    assert item.kind == ExceptionItem.Kind.CONFLICT
    assert "invoice 1001 can take at most" in item.reason and '"Id": "21"' in item.raw_payload


def test_a_payment_allocating_more_than_its_amount_is_refused(qbo, invoices):
    outcomes = apply_changes(qbo, [to_change("payment", payment("20", 50, {"10": 40, "11": 30}))])

    assert outcomes == ["error"]
    assert not Payment.objects.exists()
    assert balances()["1001"] == (Decimal("150.00"), "open")
