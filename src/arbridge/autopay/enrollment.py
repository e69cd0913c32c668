"""Enrolling a customer in auto pay, and un-enrolling, with the authorization's evidence.

Either side may enroll: the customer in the portal, or the partner for a
customer who authorized it (by a signed form or a recorded call, say). Either
way the words agreed to (`authorization_text`) are kept with the enrollment,
and so is the evidence of who agreed, when and from where (`Evidence`): NACHA
asks that a bank account's debit authorization be kept for two years after it
ends, so un-enrolling cancels the row and never deletes it.

The pages (portal/autopay.py, dashboard/autopay.py) only gather what was
posted and call these functions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db import transaction
from django.http import HttpRequest

from arbridge.autopay.models import Enrollment
from arbridge.core import clock
from arbridge.core.models import AuditEntry, Partner
from arbridge.ledger.models import Customer
from arbridge.payments import base
from arbridge.payments.models import PaymentSettings, SavedMethod
from arbridge.payments.services import processor_for


class EnrollmentError(ValueError):
    """The enrollment cannot be made as asked; the message says why, for the person asking."""


@dataclass(frozen=True)
class Evidence:
    """Who authorized auto pay, and from where: kept as the enrollment's evidence."""

    ip: str = ""
    user_agent: str = ""
    # The partner's side: the member who enrolled the customer, and how the customer agreed.
    entered_by: str = ""
    how: str = ""

    @classmethod
    def of(cls, request: HttpRequest, **extra: str) -> Evidence:
        """Return the evidence a request carries: its address and browser."""
        # REMOTE_ADDR is the proxy's address behind one; the forwarded chain is kept too.
        ip = request.META.get("REMOTE_ADDR", "")
        if forwarded := request.META.get("HTTP_X_FORWARDED_FOR", ""):
            ip = f"{ip} (forwarded for {forwarded})"[:255]
        user_agent = request.META.get("HTTP_USER_AGENT", "")[:500]
        return cls(ip=ip, user_agent=user_agent, **extra)

    def as_dict(self) -> dict[str, str]:
        return {name: value for name, value in asdict(self).items() if value}


def authorization_text(partner: Partner, kind: str) -> str:
    """Return the words a customer agrees to by enrolling a card or a bank account."""
    name = partner.display_name or partner.name
    revoke = f" or by writing to {partner.support_email}" if partner.support_email else ""
    if kind == base.MethodKind.ACH:
        return (
            f"I authorize {name} to debit the bank account shown for the open balance of each "
            "invoice it issues me, on or after the day its auto pay rules set, and, if "
            "necessary, to credit the account to correct an erroneous debit. This "
            "authorization stays in effect until I cancel it, which I may do at any time in "
            f"the billing portal{revoke}, in time for {name} to act on it before the next debit."
        )
    return (
        f"I authorize {name} to charge the card shown for the open balance of each invoice it "
        "issues me, on or after the day its auto pay rules set, and to keep the card on file "
        "for these charges. I will be told before each charge and sent a receipt after it. "
        f"I may cancel this at any time in the billing portal{revoke}."
    )


def enrollment_of(customer: Customer) -> Enrollment | None:
    """Return the customer's enrollment, in whatever status, or None."""
    return (
        Enrollment.objects.for_partner(customer.partner_id)
        .filter(customer=customer)
        .select_related("method")
        .first()
    )


def usable_methods(customer: Customer):
    """Return the customer's saved methods auto pay can charge: kept at today's processor."""
    processor = PaymentSettings.of(customer.partner_id).processor
    return SavedMethod.objects.for_partner(customer.partner_id).filter(
        customer=customer, processor=processor, removed_at__isnull=True
    )


def keep_method(customer: Customer, token: str) -> SavedMethod:
    """Keep a method the customer just entered at the processor, for charges without them.

    The method is looked up by the processor's reusable id first, so a page
    posted twice keeps it once.

    Raises:
        base.MethodRefused: the processor would not keep it (the message is for the customer).
        base.ProcessorError: the processor could not be reached.
    """
    settings = PaymentSettings.of(customer.partner_id)
    details = processor_for(settings).save_method(token, customer.name, customer.email)
    method, _ = SavedMethod.objects.get_or_create(
        partner_id=customer.partner_id,
        processor=settings.processor,
        token=details.token,
        defaults={
            "customer": customer,
            "processor_customer": details.processor_customer,
            "kind": details.kind.value,
            "brand": details.brand,
            "last4": details.last4,
            "funding": details.funding.value,
        },
    )
    if method.customer_id != customer.pk:
        raise base.MethodRefused("That payment method belongs to someone else.")
    return method


def enroll(
    customer: Customer,
    method_id: int | str,
    *,
    source: str,
    agreed: bool,
    evidence: Evidence,
    actor=None,
) -> Enrollment:
    """Enroll the customer's saved method, keeping the words agreed to and the evidence.

    Enrolling again (another method, after un-enrolling) replaces the
    authorization in force; the ones it replaces stay in the evidence
    ("earlier"), since they must be kept after they end. Whether the
    customer is in the pilot stays as it was.
    """
    method = usable_methods(customer).filter(pk=method_id).first()
    if method is None:
        raise EnrollmentError("Choose one of the saved payment methods.")
    if not agreed:
        raise EnrollmentError("Auto pay needs the authorization to be agreed to.")
    if source == Enrollment.Source.PARTNER and not evidence.how:
        raise EnrollmentError("Say how the customer authorized auto pay.")
    text = authorization_text(customer.partner, method.kind)
    with transaction.atomic():
        earlier = enrollment_of(customer)
        kept = evidence.as_dict()
        if earlier is not None and earlier.authorization:
            kept["earlier"] = superseded(earlier)
        enrollment = Enrollment.enroll(
            method,
            source=source,
            authorization=text,
            evidence=kept,
            pilot=earlier.pilot if earlier else False,
        )
        AuditEntry.record(
            customer.partner,
            "autopay.enrolled",
            actor=actor,
            target=str(customer),
            method=str(method),
            source=source,
        )
    return enrollment


def superseded(enrollment: Enrollment) -> list[dict]:
    """Return the authorizations an enrollment held, its own last: kept when it is replaced."""
    evidence = dict(enrollment.evidence)
    history = evidence.pop("earlier", [])
    own = {
        "authorization": enrollment.authorization,
        "evidence": evidence,
        "method": str(enrollment.method) if enrollment.method else "",
        "source": enrollment.source,
        "status": enrollment.status,
    }
    return [*history, own]


def unenroll(enrollment: Enrollment, *, source: str, actor=None) -> bool:
    """Stop auto pay for the customer; return False if it was already stopped.

    The row and its evidence stay, cancelled: the authorization must be kept.
    """
    if enrollment.status == Enrollment.Status.CANCELLED:
        return False
    with transaction.atomic():
        enrollment.evidence = {**enrollment.evidence, "cancelled_at": clock.now().isoformat()}
        enrollment.evidence["cancelled_by"] = source
        enrollment.save(update_fields=["evidence"])
        enrollment.cancel()
        AuditEntry.record(
            enrollment.customer.partner,
            "autopay.unenrolled",
            actor=actor,
            target=str(enrollment.customer),
            source=source,
        )
    return True


def set_pilot(enrollment: Enrollment, pilot: bool) -> None:
    """Put the customer in the pilot (auto pay charges only them while it is on), or out."""
    enrollment.pilot, enrollment.updated_at = pilot, clock.now()
    enrollment.save(update_fields=["pilot", "updated_at"])
