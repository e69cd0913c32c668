"""The customer's pages: getting in, open invoices, one invoice and its PDF.

Every page after sign-in is wrapped in `visitor_required` and reads rows
through the visitor's partner and customer only, so another customer's or
another partner's ids give 404. Paying is in portal/checkout.py.
"""

import datetime as dt
import logging

from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from arbridge.connectors.base import ConnectorError
from arbridge.core import clock
from arbridge.core.models import Partner
from arbridge.core.money import ZERO
from arbridge.integrations.pdfs import cached_pdf, native_pdf_ref, safe
from arbridge.ledger.models import Customer, Invoice
from arbridge.portal import pdf, tasks
from arbridge.portal.access import current_visitor, end_session, start_session, visitor_required
from arbridge.portal.forms import SignInForm
from arbridge.portal.models import PortalLink

logger = logging.getLogger(__name__)

# At most this many sign-in links to one address in SIGN_IN_WINDOW.
SIGN_IN_LIMIT = 5
SIGN_IN_WINDOW = dt.timedelta(minutes=15)
UNPAID = (Invoice.Status.OPEN, Invoice.Status.PARTIALLY_PAID)


# -- getting in -------------------------------------------------------------------


def open_link(request: HttpRequest, token: str) -> HttpResponse:
    """Start a portal session for the link's customer, or say why the link does not work."""
    link = PortalLink.from_token(token)
    if link is None:
        return render(request, "portal/link_unusable.html", {"reason": "unknown"}, status=404)
    if not link.is_usable:
        ctx = {"partner": link.partner, "reason": "revoked" if link.is_revoked else "expired"}
        return render(request, "portal/link_unusable.html", ctx, status=410)
    start_session(request, link)
    return redirect("portal:invoices", slug=link.partner.slug)


def billing_link(request: HttpRequest, slug: str) -> HttpResponse:
    """Email a sign-in link to a billing contact who asks; the same answer for any address."""
    partner = get_object_or_404(Partner, slug=slug)
    if request.method == "GET" and current_visitor(request, partner) is not None:
        return redirect("portal:invoices", slug=partner.slug)
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        links = sign_in_links(partner, email)
        if links:
            urls = [
                (link.customer.name, request.build_absolute_uri(link.get_absolute_url()))
                for link in links
            ]
            tasks.send_sign_in(partner.pk, email, urls)
        return render(request, "portal/sign_in_sent.html", {"partner": partner, "email": email})
    status = 400 if form.errors else 200
    return render(
        request, "portal/billing_link.html", {"partner": partner, "form": form}, status=status
    )


def sign_in_links(partner: Partner, email: str) -> list[PortalLink]:
    """Make a sign-in link for each customer the address is a billing contact of.

    Nothing for an unknown address, nor for one that asked too often lately.
    """
    recent = PortalLink.objects.for_partner(partner).filter(
        emailed_to__iexact=email, created_at__gte=clock.now() - SIGN_IN_WINDOW
    )
    if recent.count() >= SIGN_IN_LIMIT:
        logger.info("Sign-in links to %s for partner %s are rate limited", email, partner.pk)
        return []
    customers = (
        Customer.objects.for_partner(partner)
        .filter(archived=False)
        .filter(
            Q(email__iexact=email) | Q(contacts__is_billing=True, contacts__email__iexact=email)
        )
        .distinct()
        .order_by("name", "id")
    )
    return [PortalLink.issue_sign_in(customer, email) for customer in customers]


@require_POST
def sign_out(request: HttpRequest, slug: str) -> HttpResponse:
    partner = get_object_or_404(Partner, slug=slug)
    end_session(request)
    return render(request, "portal/signed_out.html", {"partner": partner})


def logo(request: HttpRequest, slug: str) -> HttpResponse:
    """Serve the partner's logo, so the portal needs no media server."""
    partner = get_object_or_404(Partner, slug=slug)
    if not partner.logo:
        raise Http404("This partner has no logo.")
    return FileResponse(partner.logo.open("rb"))


# -- invoices ---------------------------------------------------------------------


def customer_invoices(request: HttpRequest):
    visitor = request.visitor
    return Invoice.objects.for_partner(visitor.partner).filter(customer=visitor.customer)


def open_invoices(request: HttpRequest) -> list[Invoice]:
    """Return the customer's unpaid invoices, oldest due first, with what is pending on each."""
    rows = list(
        customer_invoices(request)
        .filter(status__in=UNPAID, archived=False, voided_at__isnull=True)
        .order_by("due_date", "issue_date", "id")
    )
    settlements = Invoice.settlements(rows)
    for invoice in rows:
        invoice.pending = settlements[invoice.pk].pending
        invoice.to_pay = max(invoice.balance - invoice.pending, ZERO)
        invoice.can_pay = invoice.to_pay > 0
        invoice.chosen, invoice.amount_value = False, invoice.to_pay
    return rows


def keep_choices(invoices: list[Invoice], data) -> None:
    """Show the ticks and amounts the customer posted again, as when their choice is refused."""
    chosen = set(data.getlist("invoice"))
    for invoice in invoices:
        invoice.chosen = str(invoice.pk) in chosen
        invoice.amount_value = data.get(f"amount_{invoice.pk}", invoice.amount_value)


@visitor_required
def invoices(request: HttpRequest) -> HttpResponse:
    ctx = {"partner": request.visitor.partner, "visitor": request.visitor}
    ctx["invoices"] = open_invoices(request)
    return render(request, "portal/invoices.html", ctx)


@visitor_required
def invoice(request: HttpRequest, invoice_id: int) -> HttpResponse:
    obj = get_object_or_404(customer_invoices(request), pk=invoice_id)
    ctx = {
        "partner": request.visitor.partner,
        "visitor": request.visitor,
        "invoice": obj,
        "lines": obj.lines.all(),
        "pending": obj.pending_amount(),
        "paid": obj.total - obj.balance,
    }
    return render(request, "portal/invoice.html", ctx)


@visitor_required
def invoice_pdf(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Serve the invoice as its source renders it, or as arbridge does when none can."""
    obj = get_object_or_404(customer_invoices(request), pk=invoice_id)
    filename = f"Invoice {safe(obj.number)}.pdf"
    if (ref := native_pdf_ref(obj)) is not None:
        try:
            path = cached_pdf(ref)
        except ConnectorError as e:
            logger.warning("Fetching the PDF of invoice %s failed, rendering ours: %s", obj.pk, e)
        else:
            return FileResponse(path.open("rb"), content_type="application/pdf", filename=filename)
    return HttpResponse(
        pdf.render_invoice(obj),
        content_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )
