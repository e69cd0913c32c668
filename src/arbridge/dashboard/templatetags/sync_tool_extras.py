"""The invoice page's external payments: each QuickBooks payment beside its ConnectWise one."""

from django import template

from arbridge.integrations.models import MirroredPayment, SyncedInvoice

register = template.Library()


@register.simple_tag
def mirrored_payments(invoice) -> list[MirroredPayment]:
    """Return the invoice's external payments and what became of each in ConnectWise."""
    rows = MirroredPayment.objects.for_partner(invoice.partner_id).filter(invoice=invoice)
    return list(rows.select_related("payment").order_by("date", "id"))


@register.simple_tag
def synced_with_tool(invoice) -> SyncedInvoice | None:
    """Return the invoice's Sync Tool record, if it was synced with the Sync Tool."""
    return SyncedInvoice.objects.for_partner(invoice.partner_id).filter(invoice=invoice).first()
