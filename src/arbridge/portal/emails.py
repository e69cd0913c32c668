"""The portal's emails: a sign-in link for a billing contact, and a payment receipt.

Both go from DEFAULT_FROM_EMAIL under the partner's name, with replies to the
partner's support address, through Django's email (settings EMAIL_*).
"""

from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string

from arbridge.core import clock
from arbridge.core.models import Partner
from arbridge.payments.models import Checkout

RECEIPT_STATUSES = (Checkout.Status.SUCCEEDED, Checkout.Status.PENDING)


def message(partner: Partner, to: str, subject: str, template: str, ctx: dict) -> EmailMessage:
    sender = formataddr((partner.display_name or partner.name, settings.DEFAULT_FROM_EMAIL))
    body = render_to_string(template, {"partner": partner, **ctx})
    reply_to = [partner.support_email] if partner.support_email else None
    return EmailMessage(subject, body, sender, [to], reply_to=reply_to)


def send_sign_in(partner: Partner, email: str, links: list[tuple[str, str]]) -> None:
    """Send the sign-in links (customer name, URL) made for one address."""
    subject = f"Your sign-in link for {partner.display_name or partner.name}"
    ctx = {"links": links}
    message(partner, email, subject, "portal/email/sign_in.txt", ctx).send()


def receipt_address(checkout: Checkout) -> str:
    """Return the address the customer gave, else a billing contact's, else the customer's."""
    if checkout.receipt_email:
        return checkout.receipt_email
    contact = (
        checkout.customer.contacts.filter(is_billing=True).exclude(email="").order_by("id").first()
    )
    return contact.email if contact else checkout.customer.email


def send_receipt(checkout_id: int) -> bool:
    """Email the receipt of a paid (or pending ACH) checkout, once; return True if sent now.

    The checkout is claimed by setting receipt_sent_at before sending, so two
    workers never both send; a failed send releases the claim for a retry.
    """
    with transaction.atomic():
        claimed = Checkout.objects.filter(
            pk=checkout_id, status__in=RECEIPT_STATUSES, receipt_sent_at__isnull=True
        ).update(receipt_sent_at=clock.now())
    if not claimed:
        return False
    checkout = Checkout.objects.select_related("customer", "partner").get(pk=checkout_id)
    to = receipt_address(checkout)
    if not to:
        return False
    partner = checkout.partner
    subject = f"Receipt for your payment to {partner.display_name or partner.name}"
    ctx = {"checkout": checkout, "lines": checkout.lines.select_related("invoice")}
    try:
        message(partner, to, subject, "portal/email/receipt.txt", ctx).send()
    except Exception:
        Checkout.objects.filter(pk=checkout_id).update(receipt_sent_at=None)
        raise
    return True
