"""The invoice page's reminder activity, and the badge an email's status wears."""

from django import template

from arbridge.collections.models import ReminderEmail
from arbridge.collections.views import invoice_activity
from arbridge.collections.worklist import next_reminders
from arbridge.core import clock
from arbridge.ledger.models import Invoice

register = template.Library()

BADGES = {
    ReminderEmail.Status.SENT: "pay-succeeded",
    ReminderEmail.Status.QUEUED: "pay-pending",
    ReminderEmail.Status.FAILED: "pay-failed",
    ReminderEmail.Status.BOUNCED: "pay-failed",
}


@register.filter
def email_badge(status: str) -> str:
    return BADGES.get(status, "status-archived")


@register.inclusion_tag("collections/_invoice_activity.html")
def invoice_reminders(invoice: Invoice) -> dict:
    """Every reminder of the invoice, and the next one the run will send."""
    coming = next_reminders(invoice.partner_id, clock.today(), [invoice.customer_id])
    return {
        "invoice": invoice,
        "reminders": invoice_activity(invoice.pk),
        "next": coming.get(invoice.pk),
    }
