"""The one public collections page: a billing contact stops their reminders."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from arbridge.collections.models import Unsubscribe, contact_from_token
from arbridge.ledger.models import Contact


def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """Ask, then (on POST, so a mail scanner's GET changes nothing) stop reminders to a contact."""
    contact_id = contact_from_token(token)
    contact = (
        Contact.objects.select_related("customer").filter(pk=contact_id).first()
        if contact_id
        else None
    )
    if contact is None:
        return render(request, "collections/unsubscribe.html", {"unknown": True}, status=404)
    from arbridge.core.models import Partner

    partner = Partner.objects.get(pk=contact.partner_id)
    done = Unsubscribe.objects.filter(contact=contact).exists()
    if request.method == "POST" and not done:
        Unsubscribe.objects.create(partner_id=contact.partner_id, contact=contact)
        done = True
    ctx = {"contact": contact, "partner": partner, "done": done}
    return render(request, "collections/unsubscribe.html", ctx)
