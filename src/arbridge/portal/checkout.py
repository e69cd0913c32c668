"""Paying in the portal: choose invoices, a method, review, pay, and the receipt.

The steps, each a page or a form post:

    invoices --start--> method --(processor's page or element)--> tokenized
      --> review --pay--> receipt | the processor's authentication --> resume

The card or account number goes from the customer's browser to the
processor only (its hosted page or its own element); what comes back here is
a token. Every step reads the checkout through the visitor's own customer, so
another customer's checkout key gives 404. A checkout's key is its charge's
idempotency key: `services.pay` charges it once however often Pay is pressed.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from arbridge.payments import base, services, surcharge
from arbridge.payments.models import Checkout, SavedMethod
from arbridge.portal.access import visitor_required
from arbridge.portal.emails import RECEIPT_STATUSES, receipt_address
from arbridge.portal.forms import PaymentSelectionError, chosen_amounts
from arbridge.portal.views import keep_choices, open_invoices

Status = Checkout.Status
UNREACHABLE = (
    "We could not reach the payment processor. Nothing has been charged twice; "
    "please try again in a minute."
)


def ach_mandate(checkout: Checkout) -> str:
    """Return the debit authorization a customer gives by paying from a bank account."""
    partner = checkout.partner
    name = partner.display_name or partner.name
    revoke = f" by writing to {partner.support_email}" if partner.support_email else ""
    return (
        f"By paying from your bank account, you authorize {name} to debit the account "
        "you enter for the total shown, on or after today, and, if necessary, to credit "
        "it to correct an erroneous debit. This authorization is for this payment only; "
        f"you may cancel it before the debit is made{revoke}."
    )


def visitor_checkout(request: HttpRequest, key) -> Checkout:
    visitor = request.visitor
    rows = Checkout.objects.for_partner(visitor.partner).filter(customer=visitor.customer)
    return get_object_or_404(rows.select_related("partner", "customer", "saved_method"), key=key)


def step_url(checkout: Checkout) -> str:
    """Return where a checkout in its present status is continued."""
    slug = checkout.partner.slug
    if checkout.status == Status.OPEN:
        name = "portal:review" if checkout.method_token else "portal:checkout"
        return reverse(name, args=[slug, checkout.key])
    if checkout.status == Status.REQUIRES_ACTION and checkout.action_url:
        return checkout.action_url
    if checkout.status in RECEIPT_STATUSES:
        return reverse("portal:receipt", args=[slug, checkout.key])
    return reverse("portal:checkout_status", args=[slug, checkout.key])


def page_context(request: HttpRequest, checkout: Checkout) -> dict:
    return {
        "partner": request.visitor.partner,
        "visitor": request.visitor,
        "checkout": checkout,
        "lines": checkout.lines.select_related("invoice"),
    }


# -- choosing what to pay ---------------------------------------------------------


@require_POST
@visitor_required
def start(request: HttpRequest) -> HttpResponse:
    """Open a checkout for the invoices ticked on the invoices page, each amount as typed."""
    invoices = open_invoices(request)
    try:
        amounts = chosen_amounts(request.POST, [i for i in invoices if i.can_pay])
        checkout = services.open_checkout(request.visitor.customer, amounts)
    except (PaymentSelectionError, services.CheckoutError) as e:
        keep_choices(invoices, request.POST)
        ctx = {"partner": request.visitor.partner, "visitor": request.visitor}
        ctx |= {"invoices": invoices, "error": str(e)}
        return render(request, "portal/invoices.html", ctx, status=400)
    return redirect(step_url(checkout))


@visitor_required
def choose_method(request: HttpRequest, key) -> HttpResponse:
    """Card, bank account (ACH) or a saved method; new ones go to the processor to tokenize."""
    checkout = visitor_checkout(request, key)
    if checkout.status != Status.OPEN:
        return redirect(step_url(checkout))
    saved = SavedMethod.objects.for_partner(checkout.partner_id).filter(
        customer=checkout.customer, processor=checkout.processor, removed_at__isnull=True
    )
    if request.method == "POST":
        choice = request.POST.get("method", "")
        if choice in (base.MethodKind.CARD, base.MethodKind.ACH):
            return tokenize(request, checkout, choice)
        if choice.startswith("saved-") and (method := saved.filter(pk=choice[6:]).first()):
            try:
                checkout = services.choose_saved_method(checkout, method)
            except services.CheckoutError as e:
                messages.error(request, str(e))
            return redirect(step_url(checkout))
        messages.error(request, "Choose how you would like to pay.")
    ctx = page_context(request, checkout) | {"saved": saved, "mandate": ach_mandate(checkout)}
    return render(request, "portal/checkout.html", ctx)


def tokenize(request: HttpRequest, checkout: Checkout, kind: str) -> HttpResponse:
    """Send the customer to enter the method where only the processor sees its number."""
    return_url = request.build_absolute_uri(
        reverse("portal:tokenized", args=[checkout.partner.slug, checkout.key])
    )
    try:
        config = services.processor_for(checkout.partner_id).client_config()
    except base.ProcessorError:
        messages.error(request, UNREACHABLE)
        return redirect(step_url(checkout))
    if config.get("tokenize_url"):
        query = urlencode({"kind": kind, "return_url": return_url})
        return redirect(f"{config['tokenize_url']}?{query}")
    # The processor's own element (Stripe's), posting its token back to `submit_url`.
    ctx = page_context(request, checkout) | {
        "client_config": config | {"currency": checkout.currency},
        "kind": kind,
        "submit_url": return_url,
        "mandate": ach_mandate(checkout),
    }
    return render(request, "portal/tokenize.html", ctx)


@visitor_required
def tokenized(request: HttpRequest, key) -> HttpResponse:
    """Take the token the processor's page or element sends back, and price the surcharge."""
    checkout = visitor_checkout(request, key)
    token = (request.POST.get("token") or request.GET.get("token") or "").strip()
    if checkout.status != Status.OPEN:
        return redirect(step_url(checkout))
    if not token:
        messages.error(request, "No payment method came back from the processor; try again.")
        return redirect(reverse("portal:checkout", args=[checkout.partner.slug, checkout.key]))
    try:
        checkout = services.choose_method(checkout, token)
    except base.MethodRefused as e:
        messages.error(request, str(e))
    except base.ProcessorError:
        messages.error(request, UNREACHABLE)
    except services.CheckoutError as e:
        messages.error(request, str(e))
    return redirect(step_url(checkout))


# -- review and pay ---------------------------------------------------------------


@visitor_required
def review(request: HttpRequest, key) -> HttpResponse:
    checkout = visitor_checkout(request, key)
    if checkout.status != Status.OPEN or not checkout.method_token:
        return redirect(step_url(checkout))
    return render_review(request, checkout)


def render_review(request: HttpRequest, checkout: Checkout, error: str = "") -> HttpResponse:
    ctx = page_context(request, checkout)
    ctx |= {
        "receipt_email": request.POST.get("receipt_email", receipt_address(checkout)),
        "can_save": checkout.saved_method_id is None,
        "error": error,
    }
    if checkout.surcharge_rate:
        ctx["disclosure"] = surcharge.disclosure(checkout.surcharge_rate)
    if checkout.method_kind == base.MethodKind.ACH:
        ctx["mandate"] = ach_mandate(checkout)
    return render(request, "portal/review.html", ctx, status=400 if error else 200)


@require_POST
@visitor_required
def pay(request: HttpRequest, key) -> HttpResponse:
    """Charge the checkout (once, however often this is posted) and go where its outcome says."""
    checkout = visitor_checkout(request, key)
    if checkout.status == Status.OPEN:
        email = request.POST.get("receipt_email", "").strip()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                return render_review(request, checkout, "Enter a valid email address.")
        save = checkout.saved_method_id is None and request.POST.get("save_method") == "on"
        return_url = request.build_absolute_uri(
            reverse("portal:resume", args=[checkout.partner.slug, checkout.key])
        )
        try:
            checkout = services.pay(
                checkout.key, return_url=return_url, receipt_email=email, save_method=save
            )
        except services.CheckoutError as e:
            messages.error(request, str(e))
            return redirect(step_url(checkout))
    return after_charge(request, checkout)


@visitor_required
def resume(request: HttpRequest, key) -> HttpResponse:
    """The customer is back from authenticating: read the payment's outcome again."""
    checkout = visitor_checkout(request, key)
    try:
        checkout = services.resume(checkout)
    except base.ProcessorError:
        messages.error(request, UNREACHABLE)
    return after_charge(request, checkout)


def after_charge(request: HttpRequest, checkout: Checkout) -> HttpResponse:
    """Send the customer on by the charge's outcome; a failure starts a fresh checkout.

    The receipt is emailed by the payments app's checkout_paid signal (portal/apps.py).
    """
    if checkout.status == Status.FAILED:
        messages.error(request, checkout.error_message or "The payment did not go through.")
        return retry_with(request, checkout)
    return redirect(step_url(checkout))


def retry_with(request: HttpRequest, failed: Checkout) -> HttpResponse:
    """Open a new checkout for the same amounts, or go back to the invoices if they changed."""
    amounts = {line.invoice: line.amount for line in failed.lines.select_related("invoice")}
    try:
        fresh = services.open_checkout(failed.customer, amounts)
    except services.CheckoutError as e:
        messages.error(request, str(e))
        return redirect("portal:invoices", slug=failed.partner.slug)
    return redirect(step_url(fresh))


@visitor_required
def checkout_status(request: HttpRequest, key) -> HttpResponse:
    """A charge being made, awaiting authentication, failed or cancelled."""
    checkout = visitor_checkout(request, key)
    if checkout.status == Status.OPEN or checkout.status in RECEIPT_STATUSES:
        return redirect(step_url(checkout))
    if request.method == "POST" and checkout.status in (Status.FAILED, Status.CANCELLED):
        return retry_with(request, checkout)
    return render(request, "portal/checkout_status.html", page_context(request, checkout))


@visitor_required
def receipt(request: HttpRequest, key) -> HttpResponse:
    checkout = visitor_checkout(request, key)
    if checkout.status not in RECEIPT_STATUSES:
        return redirect(step_url(checkout))
    ctx = page_context(request, checkout) | {"sent_to": receipt_address(checkout)}
    return render(request, "portal/receipt.html", ctx)
