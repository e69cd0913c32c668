from django import template

from arbridge.integrations.pdfs import native_pdf_ref
from arbridge.ledger.models import Invoice

register = template.Library()


@register.filter
def has_native_pdf(invoice: Invoice) -> bool:
    """Return True if a connected system renders the invoice's PDF."""
    return native_pdf_ref(invoice) is not None
