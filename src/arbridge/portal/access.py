"""Who is looking at the portal: one customer of one partner, by way of a link.

Opening a portal link puts its customer in the session under SESSION_KEY,
apart from the dashboard's login: a portal visitor is never `request.user`,
and a signed-in partner user is no portal visitor. The portal session ends
after SESSION_HOURS, or at once when the partner revokes the link it came by.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect

from arbridge.core import clock
from arbridge.core.models import Partner
from arbridge.ledger.models import Customer
from arbridge.portal.models import PortalLink

SESSION_KEY = "portal"
SESSION_HOURS = 8


@dataclass(frozen=True)
class Visitor:
    """The customer the portal session belongs to, and their partner."""

    partner: Partner
    customer: Customer
    link_id: int


def start_session(request: HttpRequest, link: PortalLink) -> None:
    """Make this browser the link's customer, and no one else, for SESSION_HOURS."""
    # A new session key, so a key planted before the link was opened is worth nothing.
    # A browser that brought none gets a new one when the session is first saved.
    if request.session.session_key is not None:
        request.session.cycle_key()
    until = clock.now() + dt.timedelta(hours=SESSION_HOURS)
    request.session[SESSION_KEY] = {
        "partner": link.partner_id,
        "customer": link.customer_id,
        "link": link.pk,
        "until": until.timestamp(),
    }


def end_session(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)


def current_visitor(request: HttpRequest, partner: Partner) -> Visitor | None:
    """Return the session's customer if it belongs to this partner and its link still holds."""
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict) or data.get("partner") != partner.pk:
        return None
    if clock.now().timestamp() >= data.get("until", 0):
        return None
    live = PortalLink.objects.for_partner(partner).filter(
        pk=data.get("link"), customer_id=data.get("customer"), revoked_at__isnull=True
    )
    if not live.exists():
        return None
    customer = Customer.objects.for_partner(partner).filter(pk=data["customer"]).first()
    if customer is None:
        return None
    return Visitor(partner=partner, customer=customer, link_id=data["link"])


def visitor_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Require a portal session for the partner in the URL; set request.visitor.

    Without one, send the browser to the partner's billing link to ask for a
    sign-in link.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, slug: str, *args, **kwargs) -> HttpResponse:
        partner = get_object_or_404(Partner, slug=slug)
        visitor = current_visitor(request, partner)
        if visitor is None:
            return redirect("portal:billing_link", slug=partner.slug)
        request.visitor = visitor
        return view(request, *args, **kwargs)

    return wrapper
