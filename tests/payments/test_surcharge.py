"""The surcharge rules as a table: state x card type x rate x several invoices."""

from decimal import Decimal

import pytest

from arbridge.payments.base import Funding, MethodDetails, MethodKind
from arbridge.payments.surcharge import disclosure, rate_for, surcharges


def method(kind: str, funding: str = "unknown") -> MethodDetails:
    return MethodDetails(
        token="tok", kind=MethodKind(kind), brand="visa", last4="4242", funding=Funding(funding)
    )


CREDIT, DEBIT, PREPAID, UNKNOWN = (
    method("card", "credit"),
    method("card", "debit"),
    method("card", "prepaid"),
    method("card", "unknown"),
)
ACH = method("ach")

# (enabled, partner rate %, method, billing state, invoice amounts, expected surcharge per invoice)
TABLE = [
    # Off by default: nothing whatever the card.
    (False, "3", CREDIT, "NY", ["100.00"], ["0.00"]),
    # Credit cards at the partner's rate, per invoice, each rounded half-up.
    (True, "3", CREDIT, "NY", ["100.00"], ["3.00"]),
    (True, "2.5", CREDIT, "TX", ["100.00", "33.33", "0.10"], ["2.50", "0.83", "0.00"]),
    (True, "3", CREDIT, "", ["10.50", "19.99"], ["0.32", "0.60"]),
    # A rate above the networks' 3% cap is capped.
    (True, "4", CREDIT, "NY", ["100.00"], ["3.00"]),
    # Never debit, prepaid, a card of unknown funding, or ACH.
    (True, "3", DEBIT, "NY", ["100.00", "50.00"], ["0.00", "0.00"]),
    (True, "3", PREPAID, "NY", ["100.00"], ["0.00"]),
    (True, "3", UNKNOWN, "NY", ["100.00"], ["0.00"]),
    (True, "3", ACH, "NY", ["100.00"], ["0.00"]),
    # States that prohibit surcharges, whatever the case of the code.
    (True, "3", CREDIT, "CT", ["100.00"], ["0.00"]),
    (True, "3", CREDIT, "MA", ["100.00", "20.00"], ["0.00", "0.00"]),
    (True, "3", CREDIT, "ME", ["100.00"], ["0.00"]),
    (True, "3", CREDIT, "pr", ["100.00"], ["0.00"]),
    # Colorado caps at 2%; a lower partner rate stands.
    (True, "3", CREDIT, "CO", ["100.00", "45.55"], ["2.00", "0.91"]),
    (True, "1.5", CREDIT, "CO", ["100.00"], ["1.50"]),
    (True, "3", DEBIT, "CO", ["100.00"], ["0.00"]),
]


@pytest.mark.parametrize(("enabled", "rate", "card", "state", "amounts", "expected"), TABLE)
def test_surcharge_table(enabled, rate, card, state, amounts, expected):
    applied = rate_for(enabled, Decimal(rate), card, state)
    charged = surcharges([Decimal(a) for a in amounts], applied, "USD")
    assert charged == [Decimal(e) for e in expected]


def test_several_invoices_cost_what_paying_them_one_by_one_would():
    amounts = [Decimal("0.50"), Decimal("0.50"), Decimal("0.50")]
    rate = rate_for(True, Decimal("3"), CREDIT, "NY")
    together = sum(surcharges(amounts, rate, "USD"))
    apart = sum(surcharges([a], rate, "USD")[0] for a in amounts)
    assert together == apart == Decimal("0.06")


def test_disclosure_names_the_rate_and_the_way_to_avoid_it():
    text = disclosure(Decimal("2.50"))
    assert "2.5%" in text
    assert "debit card or bank account" in text
