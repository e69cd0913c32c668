"""Why an open invoice gets no reminder today: each reason is a query, applied in bulk.

A suppressor takes a partner id and returns a Q on Invoice that matches the
invoices it holds back. Another app can add its own with `register`.

Auto pay keeps no row for a charge it has not made yet: a charge is scheduled
when the partner's auto pay is on, the customer's enrollment is active (a
pilot one, while the pilot is on) and either no attempt was made and the first
active rule by priority that matches the invoice charges it (under its cap; over
it, auto pay asks the customer to pay, so reminders go on), or the last attempt
was declined with a retry set (autopay/runner.py `due_invoices` and
`upcoming`). A charge in flight holds a pending ledger payment, which
`pending_payment` already covers.
"""

from collections.abc import Callable

from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Lower, Trim

from arbridge.autopay.models import Attempt, AutopaySettings, Enrollment, Rule, Step
from arbridge.ledger.models import Dispute, Invoice, Payment, PaymentAllocation

Suppressor = Callable[[int], Q]

SUPPRESSORS: dict[str, Suppressor] = {}
NOTHING = Q(pk__in=[])


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
    open_disputes = Dispute.objects.filter(partner_id=partner_id, resolved_at__isnull=True).values(
        "invoice_id"
    )
    return Q(pk__in=open_disputes)


def rule_matches(rule: Rule) -> Q:
    """Return `Rule.matches` as a query on invoices annotated with `terms_key`, `agreement_key`."""
    q = Q(terms_key__in=sorted(rule.term_names)) if rule.term_names else Q()
    if rule.agreement_names:
        q &= Q(agreement_key__in=sorted(rule.agreement_names))
    if rule.trigger != Rule.Trigger.AFTER_CREATED:
        q &= Q(due_date__isnull=False)
    return q


def autopay_scheduled(partner_id: int) -> Q:
    """Auto pay will charge it: a first charge by its rules, or a retry of a decline."""
    settings = AutopaySettings.objects.filter(partner_id=partner_id, enabled=True).first()
    if settings is None:
        return NOTHING
    enrolled = Enrollment.objects.filter(
        partner_id=partner_id,
        status=Enrollment.Status.ACTIVE,
        method__isnull=False,
        method__removed_at__isnull=True,
    )
    if settings.pilot:
        enrolled = enrolled.filter(pilot=True)
    # First match wins: a rule charges what it matches and no earlier rule did.
    charged, earlier = NOTHING, NOTHING
    for rule in Rule.objects.filter(partner_id=partner_id, active=True).order_by("priority", "id"):
        match = rule_matches(rule)
        first = match & ~earlier
        if rule.amount_cap is not None:
            first &= Q(balance__lte=rule.amount_cap)
        charged |= first
        earlier |= match
    last = Attempt.objects.filter(invoice=OuterRef("pk")).order_by("-number")
    scheduled = (
        Invoice.objects.filter(
            partner_id=partner_id, customer_id__in=enrolled.values("customer_id")
        )
        .annotate(
            terms_key=Lower(Trim("terms")),
            agreement_key=Lower(Trim("agreement")),
            last_attempt=Subquery(last.values("number")[:1]),
            last_step=Subquery(last.values("next_step")[:1]),
            retry_at=Subquery(last.values("next_attempt_at")[:1]),
        )
        .filter(
            (Q(last_attempt__isnull=True) & charged)
            | Q(last_step=Step.RETRY, retry_at__isnull=False)
        )
    )
    return Q(pk__in=scheduled.values("pk"))


def held_back(partner_id: int) -> Q:
    """Return a Q matching every invoice some suppressor holds back."""
    q = NOTHING
    for suppressor in SUPPRESSORS.values():
        q |= suppressor(partner_id)
    return q


register("pending_payment", pending_payment)
register("disputed", disputed)
register("autopay_scheduled", autopay_scheduled)
