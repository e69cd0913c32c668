"""The dashboard's side of the portal: a customer's portal links, made and revoked by the partner.

The links show on the dashboard's customer page (the partial
portal/_customer_links.html); only owners and finance members make or revoke them.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from arbridge.core import clock
from arbridge.core.access import member_required
from arbridge.core.models import AuditEntry, Membership
from arbridge.ledger.models import Customer
from arbridge.portal.models import DEFAULT_LINK_DAYS, PortalLink

LINK_DAYS = (7, 30, DEFAULT_LINK_DAYS, 365)


def can_issue_links(membership: Membership) -> bool:
    """Return True if the member may hand out or revoke a customer's way in to pay."""
    return membership.role in (Membership.Role.OWNER, Membership.Role.FINANCE)


def live_links(customer: Customer):
    """Return the customer's links made in the dashboard that still work."""
    return customer.portal_links.filter(
        emailed_to="", revoked_at__isnull=True, expires_at__gt=clock.now()
    ).select_related("created_by")


@require_POST
@member_required(can_issue_links)
def create_link(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = get_object_or_404(Customer.objects.for_partner(request.partner), pk=customer_id)
    try:
        days = int(request.POST.get("days", DEFAULT_LINK_DAYS))
    except ValueError:
        days = DEFAULT_LINK_DAYS
    if days not in LINK_DAYS:
        days = DEFAULT_LINK_DAYS
    link = PortalLink.issue(customer, created_by=request.user, days=days)
    AuditEntry.record(
        request.partner, "portal_link.created", actor=request.user, target=str(customer), days=days
    )
    messages.success(
        request, f"A portal link for {customer} works until {link.expires_at:%b %d, %Y}."
    )
    return redirect("dashboard:customer", customer_id=customer.pk)


@require_POST
@member_required(can_issue_links)
def revoke_link(request: HttpRequest, customer_id: int, link_id: int) -> HttpResponse:
    """Stop the link working, and end any portal session opened with it."""
    customer = get_object_or_404(Customer.objects.for_partner(request.partner), pk=customer_id)
    link = get_object_or_404(customer.portal_links.filter(partner=request.partner), pk=link_id)
    link.revoke()
    AuditEntry.record(
        request.partner, "portal_link.revoked", actor=request.user, target=str(customer)
    )
    messages.success(request, f"The portal link for {customer} no longer works.")
    return redirect("dashboard:customer", customer_id=customer.pk)
