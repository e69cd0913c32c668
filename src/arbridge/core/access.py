"""Resolve the signed-in member's current partner and role, for dashboard and portal staff views.

The current partner lives in the session as SESSION_KEY. A user only ever
gets a partner they are a member of: a stale or forged session value falls
back to their first membership.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from arbridge.core.models import Membership

SESSION_KEY = "partner_id"


def current_membership(request: HttpRequest) -> Membership | None:
    """Return the user's membership for the session's partner, or their first one."""
    memberships = list(
        Membership.objects.filter(user=request.user)
        .select_related("partner")
        .order_by("partner__name", "partner_id")
    )
    # The switcher in the page header lists these; keep them to save a query.
    request.memberships = memberships
    wanted = request.session.get(SESSION_KEY)
    for membership in memberships:
        if membership.partner_id == wanted:
            return membership
    return memberships[0] if memberships else None


def member_required(permission: Callable[[Membership], bool] | None = None):
    """Require a signed-in member; set request.membership and request.partner.

    `permission` is a Membership predicate such as Membership.can_manage;
    members it refuses get a 403 page.
    """

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            membership = current_membership(request)
            if membership is None:
                return render(request, "dashboard/no_partner.html", status=403)
            request.membership, request.partner = membership, membership.partner
            if permission is not None and not permission(membership):
                return render(request, "dashboard/forbidden.html", status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
