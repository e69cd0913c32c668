"""Auto pay on the dashboard's customer and invoice pages: the enrollment, and every attempt."""

from django import template

from arbridge.autopay.enrollment import enrollment_of
from arbridge.autopay.models import Attempt
from arbridge.ledger.models import Customer, Invoice

register = template.Library()


@register.inclusion_tag("dashboard/autopay/_customer.html", takes_context=True)
def customer_autopay(context, customer: Customer) -> dict:
    request = context["request"]
    return {
        "request": request,
        "customer": customer,
        "enrollment": enrollment_of(customer),
        "can_enroll": request.membership.can_handle_money(),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("dashboard/autopay/_invoice_attempts.html")
def invoice_autopay_attempts(invoice: Invoice) -> dict:
    """Every auto pay attempt on the invoice, first to last, with its decline and next step."""
    attempts = Attempt.objects.for_partner(invoice.partner_id).filter(invoice=invoice)
    return {"attempts": attempts.order_by("number", "id")}
