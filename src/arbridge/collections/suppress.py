"""Why an open invoice gets no reminder today: each reason is a query, applied in bulk.

A suppressor takes a partner id and returns a Q on Invoice that matches the
invoices it holds back. Other apps add theirs with `register`: the auto pay
app, when there is one, registers "a charge is scheduled for it", so that
reminders never chase an invoice about to be charged.
"""

from collections.abc import Callable

from django.db.models import Q

from arbridge.ledger.models import Payment, PaymentAllocation

Suppressor = Callable[[int], Q]

SUPPRESSORS: dict[str, Suppressor] = {}


def register(name: str, suppressor: Suppressor) -> None:
    """Hold back the invoices `suppressor` matches from every reminder run."""
    SUPPRESSORS[name] = suppressor


def pending_payment(partner_id: int) -> Q:
    """An ACH (or other) payment is in flight for it."""
    pending = PaymentAllocation.objects.filter(
        partner_id=partner_id, payment__status=Payment.Status.PENDING
    ).values("invoice_id")
    return Q(pk__in=pending)


def disputed(partner_id: int) -> Q:
    """The customer contests it and no one has resolved the dispute yet."""
    from arbridge.collections.models import Dispute

    open_disputes = Dispute.objects.filter(partner_id=partner_id, resolved_at__isnull=True).values(
        "invoice_id"
    )
    return Q(pk__in=open_disputes)


def held_back(partner_id: int) -> Q:
    """Return a Q matching every invoice some suppressor holds back."""
    q = Q(pk__in=[])
    for suppressor in SUPPRESSORS.values():
        q |= suppressor(partner_id)
    return q


register("pending_payment", pending_payment)
register("disputed", disputed)
