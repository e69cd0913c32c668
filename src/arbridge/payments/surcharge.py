"""Surcharging: when a card payment may carry a surcharge, and how much.

The rules (DOMAIN.md, Surcharging):

- off unless the partner turns it on; the rate is the partner's, capped at 3%
  (Visa's cap from 2023-04-15, and under Mastercard's 4%);
- credit cards only: never debit or prepaid (Mastercard, Visa), never ACH; a
  card whose funding the processor cannot tell is treated as not credit;
- none where the customer's billing state prohibits it (Connecticut, Maine,
  Massachusetts, Puerto Rico), capped where the state caps it (Colorado, 2%);
- charged per invoice, so paying several invoices at once costs what paying
  them one by one would; each invoice's surcharge is rounded half-up to the cent.

The surcharge is shown before the customer confirms and itemized on the
receipt; it is recorded apart from the payment applied to the invoice.
"""

from collections.abc import Iterable
from decimal import Decimal

from arbridge.core.money import ZERO, quantize
from arbridge.payments.base import Funding, MethodDetails, MethodKind

MAX_RATE = Decimal("3.00")
PROHIBITED_STATES = frozenset({"CT", "MA", "ME", "PR"})
STATE_CAPS = {"CO": Decimal("2.00")}
HUNDRED = Decimal(100)


def rate_for(
    enabled: bool, partner_rate: Decimal, method: MethodDetails, billing_state: str
) -> Decimal:
    """Return the surcharge rate in percent that may apply to this method and customer."""
    if not enabled or method.kind != MethodKind.CARD or method.funding != Funding.CREDIT:
        return ZERO
    state = (billing_state or "").strip().upper()
    if state in PROHIBITED_STATES:
        return ZERO
    return max(ZERO, min(partner_rate, MAX_RATE, STATE_CAPS.get(state, MAX_RATE)))


def surcharges(amounts: Iterable[Decimal], rate: Decimal, currency: str) -> list[Decimal]:
    """Return the surcharge on each invoice's amount, in the same order."""
    return [quantize(amount * rate / HUNDRED, currency) for amount in amounts]


def disclosure(rate: Decimal) -> str:
    """Return the text shown before the customer confirms a surcharged payment."""
    return (
        f"A surcharge of {rate.normalize():f}% applies to payments by credit card. "
        "It is not greater than our cost of acceptance. Pay by debit card or bank "
        "account (ACH) to avoid it."
    )
