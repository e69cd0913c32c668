"""The customer page's portal box in the dashboard: the customer's links and the billing link."""

from django import template
from django.urls import reverse

from arbridge.ledger.models import Customer
from arbridge.portal.manage import LINK_DAYS, can_issue_links, live_links
from arbridge.portal.models import DEFAULT_LINK_DAYS

register = template.Library()


@register.inclusion_tag("portal/_customer_links_box.html", takes_context=True)
def customer_portal_links(context, customer: Customer) -> dict:
    request = context["request"]
    links = list(live_links(customer))
    for link in links:
        link.url = request.build_absolute_uri(link.get_absolute_url())
    billing = reverse("portal:billing_link", args=[request.partner.slug])
    return {
        "request": request,
        "customer": customer,
        "links": links,
        "billing_link": request.build_absolute_uri(billing),
        "can_issue": can_issue_links(request.membership),
        "days": LINK_DAYS,
        "default_days": DEFAULT_LINK_DAYS,
        "csrf_token": context.get("csrf_token"),
    }
