"""Auto pay's emails to a customer's billing contacts: a charge coming up, a receipt, a failure.

They go as the portal's emails do (portal/emails.py `message`): from
DEFAULT_FROM_EMAIL under the partner's name, replies to its support address.
A failure tells where to update the method (the partner's portal) and, when
no retry follows, is also an exception on the partner's list.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from arbridge.autopay.models import Attempt, Enrollment, Notice, Step
from arbridge.core import clock
from arbridge.core.models import Partner
from arbridge.core.money import format_money
from arbridge.integrations.models import ExceptionItem
from arbridge.ledger.models import Customer, Invoice
from arbridge.portal.emails import message


def billing_addresses(customer: Customer) -> list[str]:
    """Return the customer's billing contacts' addresses, else the customer's own."""
    found = sorted(
        set(
            customer.contacts.filter(is_billing=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )
    return found or ([customer.email] if customer.email else [])


def portal_url(partner: Partner) -> str:
    base = settings.BASE_URL
    return base.rstrip("/") + reverse("portal:billing_link", kwargs={"slug": partner.slug})


def send(invoice: Invoice, subject: str, template: str, ctx: dict) -> int:
    return send_to(invoice.customer, subject, template, {"invoice": invoice, **ctx})


def send_to(customer: Customer, subject: str, template: str, ctx: dict) -> int:
    sent = 0
    for to in billing_addresses(customer):
        message(customer.partner, to, subject, template, {"customer": customer, **ctx}).send()
        sent += 1
    return sent


def send_notice(kind: str, invoice_id: int, charge_on: str) -> int:
    """Email a charge coming up, or a reminder to pay an invoice over the rule's cap."""
    invoice = Invoice.objects.select_related("partner", "customer").get(pk=invoice_id)
    amount = format_money(invoice.payable, invoice.currency)
    if kind == Notice.Kind.UPCOMING:
        subject = f"Invoice {invoice.number}: {amount} will be charged on {charge_on}"
        template = "autopay/email/upcoming.txt"
    else:
        subject = f"Invoice {invoice.number}: please pay {amount}"
        template = "autopay/email/over_cap.txt"
    ctx = {"amount": amount, "charge_on": charge_on, "url": portal_url(invoice.partner)}
    return send(invoice, subject, template, ctx)


def send_attempt_notice(attempt_id: int) -> int:
    """Email the receipt of a successful charge, or the failure and what happens next; once."""
    claimed = Attempt.objects.filter(pk=attempt_id, notified_at__isnull=True).update(
        notified_at=clock.now()
    )
    if not claimed:
        return 0
    attempt = Attempt.objects.select_related("invoice__partner", "invoice__customer").get(
        pk=attempt_id
    )
    invoice = attempt.invoice
    amount = format_money(attempt.amount, attempt.currency)
    ctx = {"attempt": attempt, "amount": amount, "url": portal_url(invoice.partner)}
    if attempt.status == Attempt.Status.SUCCEEDED:
        subject = f"Receipt: {amount} paid on invoice {invoice.number}"
        return send(invoice, subject, "autopay/email/receipt.txt", ctx)
    if attempt.next_step != Step.RETRY:
        ExceptionItem.objects.create(
            partner_id=attempt.partner_id,
            kind=ExceptionItem.Kind.OTHER,
            title=f"Auto pay failed on invoice {invoice.number}: {attempt.get_next_step_display()}"[
                :255
            ],
            reason=attempt.message,
            entity="invoice",
            local_id=invoice.pk,
        )
    subject = f"Auto pay of invoice {invoice.number} failed"
    return send(invoice, subject, "autopay/email/failed.txt", ctx)


def send_suspended_notice(enrollment_id: int) -> int:
    """Tell the customer auto pay is paused until they give a method, and the partner why."""
    enrollment = Enrollment.objects.select_related("customer__partner").get(pk=enrollment_id)
    if enrollment.status != Enrollment.Status.SUSPENDED:
        return 0
    customer = enrollment.customer
    ExceptionItem.objects.get_or_create(
        partner_id=enrollment.partner_id,
        kind=ExceptionItem.Kind.OTHER,
        entity="customer",
        local_id=customer.pk,
        status=ExceptionItem.Status.OPEN,
        title=f"Auto pay of {customer.name} is suspended"[:255],
        defaults={"reason": enrollment.suspended_reason},
    )
    ctx = {"enrollment": enrollment, "url": portal_url(customer.partner)}
    subject = "Auto pay is paused: please add a payment method"
    return send_to(customer, subject, "autopay/email/suspended.txt", ctx)
