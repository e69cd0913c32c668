"""Auto pay in the portal: the customer enrolls a saved card or bank account, or stops.

    autopay --add a card/account--> (processor's page) --> tokenized --+
       |                                                                 v
       +--use a saved method------------------------------------> confirm --enroll--> autopay
    autopay --stop--> autopay

The confirm page shows the exact words the customer agrees to (a bank
account's debit mandate included); autopay/enrollment.py keeps them with the
time, address and browser. Every row is read through the visitor's own
customer, so another customer's method id gives 404.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from arbridge.autopay import enrollment as enrollments
from arbridge.autopay.models import Enrollment
from arbridge.payments import base, services
from arbridge.portal.access import visitor_required
from arbridge.portal.checkout import UNREACHABLE


def page_context(request: HttpRequest) -> dict:
    return {"partner": request.visitor.partner, "visitor": request.visitor}


@visitor_required
def autopay(request: HttpRequest) -> HttpResponse:
    """The customer's auto pay: the method enrolled, and the others they could enroll."""
    customer = request.visitor.customer
    enrollment = enrollments.enrollment_of(customer)
    methods = enrollments.usable_methods(customer)
    if enrollment is not None and enrollment.is_active:
        methods = methods.exclude(pk=enrollment.method_id)
    ctx = page_context(request) | {"enrollment": enrollment, "methods": methods}
    return render(request, "portal/autopay.html", ctx)


@require_POST
@visitor_required
def add_method(request: HttpRequest) -> HttpResponse:
    """Send the customer to enter a card or bank account where only the processor sees it."""
    kind = request.POST.get("kind", "")
    if kind not in (base.MethodKind.CARD, base.MethodKind.ACH):
        messages.error(request, "Choose a card or a bank account.")
        return redirect("portal:autopay", slug=request.visitor.partner.slug)
    partner = request.visitor.partner
    back = reverse("portal:autopay_tokenized", args=[partner.slug])
    return_url = request.build_absolute_uri(back)
    try:
        config = services.processor_for(partner.pk).client_config()
    except base.ProcessorError:
        messages.error(request, UNREACHABLE)
        return redirect("portal:autopay", slug=partner.slug)
    if config.get("tokenize_url"):
        query = urlencode({"kind": kind, "return_url": return_url})
        return redirect(f"{config['tokenize_url']}?{query}")
    # The processor's own element (Stripe's), posting its token back to `submit_url`.
    ctx = page_context(request) | {"client_config": config, "kind": kind, "submit_url": return_url}
    return render(request, "portal/autopay_tokenize.html", ctx)


@visitor_required
def tokenized(request: HttpRequest) -> HttpResponse:
    """Keep the method the processor sends back, then ask the customer to authorize it."""
    slug = request.visitor.partner.slug
    token = (request.POST.get("token") or request.GET.get("token") or "").strip()
    if not token:
        messages.error(request, "No payment method came back from the processor; try again.")
        return redirect("portal:autopay", slug=slug)
    try:
        method = enrollments.keep_method(request.visitor.customer, token)
    except base.MethodRefused as e:
        messages.error(request, str(e))
    except base.ProcessorError:
        messages.error(request, UNREACHABLE)
    else:
        return redirect("portal:autopay_confirm", slug=slug, method_id=method.pk)
    return redirect("portal:autopay", slug=slug)


@visitor_required
def confirm(request: HttpRequest, method_id: int) -> HttpResponse:
    """Show the authorization for one method; agreeing to it enrolls the method."""
    customer = request.visitor.customer
    method = get_object_or_404(enrollments.usable_methods(customer), pk=method_id)
    error = ""
    if request.method == "POST":
        try:
            enrollments.enroll(
                customer,
                method.pk,
                source=Enrollment.Source.PORTAL,
                agreed=request.POST.get("agree") == "on",
                evidence=enrollments.Evidence.of(request),
            )
        except enrollments.EnrollmentError as e:
            error = str(e)
        else:
            messages.success(
                request, f"Auto pay is on with {method.brand.title()} ending {method.last4}."
            )
            return redirect("portal:autopay", slug=request.visitor.partner.slug)
    ctx = page_context(request) | {
        "method": method,
        "authorization": enrollments.authorization_text(request.visitor.partner, method.kind),
        "error": error,
    }
    return render(request, "portal/autopay_confirm.html", ctx, status=400 if error else 200)


@require_POST
@visitor_required
def unenroll(request: HttpRequest) -> HttpResponse:
    enrollment = enrollments.enrollment_of(request.visitor.customer)
    if enrollment is not None and enrollments.unenroll(enrollment, source=Enrollment.Source.PORTAL):
        messages.success(request, "Auto pay is off. Nothing more will be charged by itself.")
    return redirect("portal:autopay", slug=request.visitor.partner.slug)
