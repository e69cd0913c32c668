"""The service a polled vendor's program calls, and the file that sets that program up."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from arbridge.core.access import member_required
from arbridge.core.models import Connection, Membership
from arbridge.integrations import registry
from arbridge.polling.host import DjangoHost


def polled_kind(kind: str) -> str:
    if kind not in registry.all_kinds() or not registry.is_polled(kind):
        raise Http404("no such service")
    return kind


def service_url(kind: str) -> str:
    return settings.BASE_URL + reverse("poll_service", args=[kind])


@csrf_exempt
def service(request: HttpRequest, kind: str) -> HttpResponse:
    """Answer one call of the vendor's program (a SOAP envelope in, one out)."""
    polled_kind(kind)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    host = DjangoHost(kind)
    try:
        status, body = registry.load(kind).serve(request.body, host)
    finally:
        host.close_http()
    return HttpResponse(body, status=status, content_type="text/xml; charset=utf-8")


@member_required(Membership.can_manage)
def setup_file(request: HttpRequest, connection_id: int) -> HttpResponse:
    """Download the file that makes the vendor's program poll this connection (.qwc)."""
    connection = get_object_or_404(
        Connection.objects.for_partner(request.partner), pk=connection_id
    )
    polled_kind(connection.kind)
    if not connection.remote_account:
        raise Http404("the connection has no user yet: connect it first")
    minutes = int(connection.preferences.get("poll_minutes") or 15)
    body = registry.load(connection.kind).setup_file(
        url=service_url(connection.kind),
        username=connection.remote_account,
        name=f"arbridge ({request.partner.name})",
        minutes=minutes,
        ids=f"{settings.BASE_URL}/{connection.pk}",
    )
    response = HttpResponse(body, content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="arbridge-{connection.pk}.qwc"'
    return response
