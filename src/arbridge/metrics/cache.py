"""Figures are worth working out once per change of the ledger, not once per page view.

A partner's figures are kept (in Django's cache) under a fingerprint of its
ledger: the latest change to any of its invoices (a payment applied, refunded
or returned, a credit, a void, a synced edit all re-derive the invoice and so
move its `updated_at`), its latest succeeded payment, and the day (aging moves
with the calendar). Both are read from an index, so the fingerprint costs two
seeks. What no fingerprint sees (an invoice archived, a payment's date edited
by its source) shows within TTL seconds.
"""

from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db.models import Max

from arbridge.core import clock
from arbridge.core.models import Partner
from arbridge.ledger.models import Invoice, Payment

TTL = 120
T = TypeVar("T")


def fingerprint(partner: Partner | int) -> str:
    """Return a key that changes whenever the partner's ledger figures may have."""
    partner_id = getattr(partner, "pk", partner)
    changed = Invoice.objects.for_partner(partner_id).aggregate(m=Max("updated_at"))["m"]
    paid = (
        Payment.objects.for_partner(partner_id)
        .filter(status=Payment.Status.SUCCEEDED)
        .aggregate(m=Max("id"))["m"]
    )
    stamp = changed.timestamp() if changed else 0
    return f"{partner_id}:{stamp}:{paid}:{clock.today().isoformat()}"


def remember(key: str, name: str, compute: Callable[[], T]) -> T:
    """Return what `compute` gives for the ledger `key` (a fingerprint) and `name`, once per TTL."""
    return cache.get_or_set(f"arbridge:metrics:{key}:{name}", compute, TTL)
