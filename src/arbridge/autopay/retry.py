"""Whether and when a declined auto pay charge is tried again (DOMAIN.md, Retries and ACH).

No Django here: the runner passes the decline and the method's earlier
retries, and gets back the next step.

    card, hard decline (Visa category 1, MAC 03/21,   stop
      stolen, closed account, do not honour)
    card, MAC 01                                      the customer updates the card
    card, authentication required                     the customer pays once in the portal
    card, soft decline (insufficient funds, issuer    retry after the schedule's next gap
      unavailable)                                    (default 3, 5, 7 days), within the
                                                      network's limits: Visa 15 retries in
                                                      30 days, Mastercard 10 in 24 hours
                                                      (then wait a day) and 35 in 30 days
    ACH R01, R09                                      re-present, at most twice
    ACH R29                                           the customer authorizes again
    ACH, any other return                             stop
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

# Visa's category 1 ("never approve") codes, and the processor's names for the same.
VISA_CATEGORY_1 = {"04", "07", "12", "14", "15", "41", "43", "46", "57", "R0", "R1", "R3"}
HARD_CODES = {
    "stolen_card",
    "lost_card",
    "pickup_card",
    "fraudulent",
    "restricted_card",
    "incorrect_number",
    "invalid_account",
    "account_closed",
    "do_not_honor",
    "generic_decline",
    "card_not_supported",
}
UPDATE_CODES = {"expired_card", "authentication_required"}
SOFT_CODES = {
    "insufficient_funds",
    "issuer_not_available",
    "processing_error",
    "try_again_later",
    "approve_with_id",
    "reenter_transaction",
    "91",
    "51",
}
MAC_NEVER = {"03", "21"}
MAC_UPDATE = {"01"}
ACH_REPRESENTABLE = {"R01", "R09"}
ACH_REAUTHORIZE = {"R29"}
ACH_MAX_REPRESENTMENTS = 2

DAY = dt.timedelta(days=1)
MONTH = dt.timedelta(days=30)
# Network limits on retries of one card: (window, most retries in it, wait instead of stopping).
LIMITS = {
    "visa": [(MONTH, 15, False)],
    "mastercard": [(dt.timedelta(hours=24), 10, True), (MONTH, 35, False)],
}


@dataclass(frozen=True)
class Verdict:
    step: str  # "retry", "update_method", "reauthorize", "stop"
    retry_at: dt.datetime | None = None
    reason: str = ""


def decide(
    *,
    kind: str,
    brand: str,
    code: str,
    advice: str,
    soft: bool,
    failures: int,
    retries_of_method: Sequence[dt.datetime],
    schedule: Sequence[int],
    now: dt.datetime,
) -> Verdict:
    """Return what follows a failed attempt.

    `failures` counts this invoice's failed attempts so far, this one included;
    `retries_of_method` are the times of the method's earlier retries (any invoice).
    """
    if kind == "ach":
        return _ach(code, failures, now)
    if advice in MAC_NEVER:
        return Verdict("stop", reason=f"Mastercard advice {advice}: never retry")
    if advice in MAC_UPDATE:
        return Verdict("update_method", reason="Mastercard advice 01: the card must be updated")
    if code in UPDATE_CODES:
        return Verdict("update_method", reason=f"{code}: the customer must act")
    if code in VISA_CATEGORY_1 or code in HARD_CODES or not (soft or code in SOFT_CODES):
        return Verdict("stop", reason=f"hard decline ({code or 'no code'}): never retried")
    if failures > len(schedule):
        return Verdict("stop", reason=f"declined {failures} times: the retry schedule is spent")
    retry_at = now + dt.timedelta(days=schedule[failures - 1])
    allowed = within_limits(brand, retries_of_method, retry_at)
    if allowed is None:
        return Verdict("stop", reason=f"{brand}'s limit of retries in 30 days is reached")
    return Verdict("retry", retry_at=allowed, reason=f"soft decline ({code})")


def within_limits(
    brand: str, retries_of_method: Sequence[dt.datetime], at: dt.datetime
) -> dt.datetime | None:
    """Return when a card may be retried, at `at` or later; None if its network says never."""
    for window, most, wait in LIMITS.get(brand.lower(), []):
        # The retries the network counts in the window ending at the retry.
        counted = sorted(t for t in retries_of_method if t > at - window)
        if len(counted) >= most:
            if not wait:
                return None
            # Once the oldest retries in the window have aged out of it.
            at = counted[len(counted) - most] + window
    return at


def _ach(code: str, failures: int, now: dt.datetime) -> Verdict:
    if code in ACH_REAUTHORIZE:
        return Verdict("reauthorize", reason=f"{code}: the debit must be authorized again")
    if code in ACH_REPRESENTABLE:
        if failures > ACH_MAX_REPRESENTMENTS:
            return Verdict("stop", reason=f"{code}: already re-presented twice")
        return Verdict("retry", retry_at=now + dt.timedelta(days=2), reason=f"{code}: re-present")
    return Verdict("stop", reason=f"ACH return {code or 'without a code'}: not re-presented")
