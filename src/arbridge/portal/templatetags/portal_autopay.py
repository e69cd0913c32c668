"""The portal's invoices page says whether auto pay is on, and with which method."""

from django import template

from arbridge.autopay.enrollment import enrollment_of
from arbridge.core.models import Partner
from arbridge.ledger.models import Customer

register = template.Library()


@register.inclusion_tag("portal/_autopay_status.html")
def autopay_status(partner: Partner, customer: Customer) -> dict:
    enrollment = enrollment_of(customer)
    return {
        "partner": partner,
        "enrollment": enrollment if enrollment and enrollment.is_active else None,
    }
