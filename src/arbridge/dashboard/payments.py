"""The partner's side of payments: settings, payments and refunds, payouts, unmatched money.

The money itself moves in arbridge.payments.services; these pages only ask it
to (a refund, applying unmatched money) and show what it recorded. Rows are
read through `for_partner(request.partner)`, so another partner's ids give
404. Settings need a manager; refunds and applying money need a member who
handles money.

A processor's secrets are write-only here: the page shows enough of a key to
recognise it, never the whole of it.
"""

from decimal import Decimal, InvalidOperation

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from arbridge.core.access import member_required
from arbridge.core.models import AuditEntry, Connection, Membership, Partner
from arbridge.core.money import format_money
from arbridge.dashboard.views import paginate
from arbridge.integrations import writeback
from arbridge.integrations.models import ExceptionItem, OutboundCommand
from arbridge.ledger.models import Invoice, LedgerError, Payment
from arbridge.payments import base, events, services, surcharge
from arbridge.payments.models import (
    MAX_SURCHARGE_RATE,
    Checkout,
    PaymentSettings,
    Payout,
    UnmatchedFunds,
)
from arbridge.payments.processors.sandbox import provision

# Checkouts whose outcome the current processor still owes: switching would orphan them.
IN_FLIGHT = (Checkout.Status.PROCESSING, Checkout.Status.REQUIRES_ACTION, Checkout.Status.PENDING)
UNPAID = (Invoice.Status.OPEN, Invoice.Status.PARTIALLY_PAID)
STATUS_FILTERS = {
    "": None,
    "pending": (Payment.Status.PENDING,),
    "succeeded": (Payment.Status.SUCCEEDED,),
    "reversed": (Payment.Status.REFUNDED, Payment.Status.RETURNED),
    "failed": (Payment.Status.FAILED,),
}
SEARCH_RESULTS = 25


# -- forms ---------------------------------------------------------------------------


class StripeKeysForm(forms.Form):
    """Stripe's keys, from Developers > API keys and the webhook endpoint's signing secret."""

    secret_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput,
        help_text="sk_live_… or sk_test_… (a restricted rk_ key works too).",
    )
    publishable_key = forms.CharField(required=False, help_text="pk_live_… or pk_test_….")
    webhook_secret = forms.CharField(
        required=False,
        label="Webhook signing secret",
        widget=forms.PasswordInput,
        help_text="whsec_…, from the endpoint you added in Stripe's Developers > Webhooks.",
    )
    PREFIXES = {
        "secret_key": ("sk_", "rk_"),
        "publishable_key": ("pk_",),
        "webhook_secret": ("whsec_",),
    }

    def __init__(self, saved: dict, *args, **kwargs) -> None:
        """`saved` is the Stripe credentials in use: an empty field keeps its saved value."""
        super().__init__(*args, **kwargs)
        self.saved = saved
        for name in self.PREFIXES:
            if saved.get(name):
                self.fields[name].help_text = f"Saved: {mask(saved[name])}. Leave empty to keep it."

    def clean(self) -> dict:
        data = super().clean()
        for name, prefixes in self.PREFIXES.items():
            value = (data.get(name) or "").strip() or self.saved.get(name, "")
            if not value:
                self.add_error(name, "Required.")
            elif not value.startswith(prefixes):
                self.add_error(name, f"This does not look like one: it starts with {prefixes[0]}.")
            data[name] = value
        secret, public = data.get("secret_key", ""), data.get("publishable_key", "")
        if not self.errors and ("_test_" in secret) != ("_test_" in public):
            raise forms.ValidationError(
                "The secret and publishable keys must both be test keys or both be live keys."
            )
        return data

    def credentials(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.PREFIXES}


class CollectingForm(forms.ModelForm):
    """How the partner collects: surcharging and when ACH payments are written back."""

    class Meta:
        model = PaymentSettings
        fields = ["surcharge_enabled", "surcharge_rate", "ach_writeback_at_initiation"]
        labels = {
            "surcharge_enabled": "Surcharge credit card payments",
            "surcharge_rate": "Surcharge rate (%)",
            "ach_writeback_at_initiation": "Write ACH payments back when they start "
            "(a return reverses them)",
        }
        help_texts = {
            "surcharge_rate": "Percent of the amount paid by credit card; more than 0, at most 3.",
            "ach_writeback_at_initiation": "Off: an ACH payment is written to your books when "
            "it settles, a few business days later, and the invoice shows it pending meanwhile.",
        }

    def clean_surcharge_rate(self) -> Decimal:
        rate = self.cleaned_data["surcharge_rate"]
        if rate is not None and rate > MAX_SURCHARGE_RATE:
            raise forms.ValidationError("Card networks cap surcharges at 3%.")
        return rate

    def clean(self) -> dict:
        data = super().clean()
        rate = data.get("surcharge_rate")
        if data.get("surcharge_enabled") and rate is not None and rate <= 0:
            self.add_error("surcharge_rate", "Enter a rate above 0 to surcharge.")
        return data


def mask(secret: str) -> str:
    """Return enough of a key to recognise it: its kind and last four characters."""
    kind = secret[: secret.rfind("_") + 1] if "_" in secret else ""
    return f"{kind}…{secret[-4:]}"


def parse_amounts(post, invoices: dict[int, Invoice]) -> tuple[dict[Invoice, Decimal], list[str]]:
    """Read the `amount-<invoice id>` fields a person filled in; return amounts and errors."""
    amounts, errors = {}, []
    for pk, invoice in invoices.items():
        raw = (post.get(f"amount-{pk}") or "").strip().replace(",", "")
        if not raw:
            continue
        try:
            amount = Decimal(raw)
        except InvalidOperation:
            errors.append(f"“{raw}” for invoice {invoice.number} is not an amount.")
            continue
        if not amount.is_finite() or amount < 0:
            errors.append(f"Enter a positive amount for invoice {invoice.number}.")
        elif amount:
            amounts[invoice] = amount
    return amounts, errors


# -- settings ------------------------------------------------------------------------


def sandbox_base_url() -> str:
    """Return where this server serves the sandbox processor (server.SANDBOXES)."""
    return f"{settings.BASE_URL}/sandbox/processor"


def in_flight(partner: Partner) -> int:
    return Checkout.objects.for_partner(partner).filter(status__in=IN_FLIGHT).count()


def refuse_switch(request: HttpRequest, payment_settings: PaymentSettings) -> bool:
    """Refuse to leave a processor account that still owes the outcome of some payments."""
    if not payment_settings.credentials:
        return False
    if count := in_flight(request.partner):
        messages.error(
            request,
            f"{count} payment(s) are still in progress at "
            f"{payment_settings.get_processor_display()} (pending ACH debits or "
            "authentications). Switch once they are done, or their "
            "outcome will never reach arbridge.",
        )
        return True
    return False


def accounts_missing_surcharge(partner: Partner) -> list[Connection]:
    """Return the accounting connections that take deposits but have no surcharge income account."""
    return [
        connection
        for connection in Connection.objects.for_partner(partner).order_by("pk")
        if writeback.wants_deposits(connection)
        and not connection.preferences.get("surcharge_income_account_id")
    ]


def settings_page(
    request: HttpRequest,
    payment_settings: PaymentSettings,
    stripe_form: StripeKeysForm | None = None,
    collecting_form: CollectingForm | None = None,
    status: int = 200,
) -> HttpResponse:
    stripe_saved = payment_settings.credentials if payment_settings.processor == "stripe" else {}
    ctx = {
        "page": "payments",
        "tab": "settings",
        "settings": payment_settings,
        "is_set_up": bool(payment_settings.credentials),
        "stripe_form": stripe_form or StripeKeysForm(stripe_saved),
        "collecting_form": collecting_form or CollectingForm(instance=payment_settings),
        "stripe_webhook_url": request.build_absolute_uri(
            reverse("stripe_webhook", args=[request.partner.slug])
        ),
        "max_rate": MAX_SURCHARGE_RATE,
        "prohibited_states": sorted(surcharge.PROHIBITED_STATES),
        "state_caps": sorted(surcharge.STATE_CAPS.items()),
        "missing_surcharge_account": accounts_missing_surcharge(request.partner),
        "unmatched_count": unmatched_count(request.partner),
    }
    return render(request, "dashboard/payments/settings.html", ctx, status=status)


@member_required(Membership.can_manage)
def payment_settings(request: HttpRequest) -> HttpResponse:
    """Show the processor and how it collects; save surcharging and the ACH preference."""
    current = PaymentSettings.of(request.partner)
    if request.method != "POST":
        return settings_page(request, current)
    form = CollectingForm(request.POST, instance=current)
    if not form.is_valid():
        return settings_page(request, current, collecting_form=form, status=400)
    form.save()
    AuditEntry.record(
        request.partner,
        "payments.settings_changed",
        actor=request.user,
        surcharge_enabled=current.surcharge_enabled,
        surcharge_rate=str(current.surcharge_rate),
        ach_writeback_at_initiation=current.ach_writeback_at_initiation,
    )
    messages.success(request, "Payment settings saved.")
    return redirect("dashboard:payment_settings")


@require_POST
@member_required(Membership.can_manage)
def use_sandbox(request: HttpRequest) -> HttpResponse:
    """Open an account at the sandbox processor served beside arbridge, and collect through it."""
    current = PaymentSettings.of(request.partner)
    # Every press opens a new account, so it is a switch even from the sandbox.
    if refuse_switch(request, current):
        return redirect("dashboard:payment_settings")
    try:
        credentials = provision(
            sandbox_base_url(),
            request.partner.display_name,
            # Events arrive at once this way; the poll every minute is the safety net.
            webhook_url=settings.BASE_URL
            + reverse("sandbox_processor_webhook", args=[request.partner.slug]),
        )
    except base.ProcessorError as e:
        messages.error(request, f"The sandbox processor could not be reached: {e}")
        return redirect("dashboard:payment_settings")
    save_processor(request, current, PaymentSettings.Processor.SANDBOX, credentials)
    messages.success(
        request, "Payments now go to the sandbox processor: test cards and bank accounts only."
    )
    return redirect("dashboard:payment_settings")


@require_POST
@member_required(Membership.can_manage)
def use_stripe(request: HttpRequest) -> HttpResponse:
    current = PaymentSettings.of(request.partner)
    saved = current.credentials if current.processor == PaymentSettings.Processor.STRIPE else {}
    form = StripeKeysForm(saved, request.POST)
    if not form.is_valid():
        return settings_page(request, current, stripe_form=form, status=400)
    # New keys for the Stripe account in use are no switch.
    if not saved and refuse_switch(request, current):
        return redirect("dashboard:payment_settings")
    save_processor(request, current, PaymentSettings.Processor.STRIPE, form.credentials())
    messages.success(request, "Payments now go to Stripe.")
    return redirect("dashboard:payment_settings")


def save_processor(
    request: HttpRequest, current: PaymentSettings, processor: str, credentials: dict
) -> None:
    with transaction.atomic():
        current.processor, current.credentials = processor, credentials
        # A new account's events start at its beginning.
        current.events_cursor = ""
        current.save(update_fields=["processor", "credentials", "events_cursor"])
        AuditEntry.record(
            request.partner, "payments.processor_changed", actor=request.user, target=processor
        )


# -- payments and refunds --------------------------------------------------------------


def unmatched_count(partner: Partner) -> int:
    return (
        UnmatchedFunds.objects.for_partner(partner)
        .filter(status=UnmatchedFunds.Status.OPEN)
        .count()
    )


@member_required()
def payments(request: HttpRequest) -> HttpResponse:
    """List the payments taken through arbridge, newest first."""
    status = request.GET.get("status", "")
    rows = (
        Payment.objects.for_partner(request.partner)
        .filter(origin=Payment.Origin.ARBRIDGE)
        .select_related("customer", "checkout")
        .prefetch_related("allocations__invoice")
        .annotate(surcharge=Sum("checkout__lines__surcharge"))
        .order_by("-created_at", "-id")
    )
    if statuses := STATUS_FILTERS.get(status):
        rows = rows.filter(status__in=statuses)
    ctx = {
        "page": "payments",
        "tab": "payments",
        "status": status if status in STATUS_FILTERS else "",
        "payments": paginate(request, rows),
        "unmatched_count": unmatched_count(request.partner),
    }
    return render(request, "dashboard/payments/payments.html", ctx)


@require_POST
@member_required(Membership.can_handle_money)
def refund_payment(request: HttpRequest, payment_id: int) -> HttpResponse:
    """Refund a payment in full at the processor; its write-backs are reversed."""
    payment = get_object_or_404(Payment.objects.for_partner(request.partner), pk=payment_id)
    if not Checkout.objects.filter(payment=payment).exists():
        # Money applied from the Unmatched queue came by bank transfer: it goes back the same way.
        messages.error(request, "Only payments made in the portal can be refunded here.")
        return redirect("dashboard:payments")
    try:
        result = events.refund(payment, actor=request.user)
    except services.CheckoutError as e:
        messages.error(request, str(e))
    except base.ProcessorError:
        messages.error(
            request, "The processor could not be reached; nothing was refunded. Try again."
        )
    else:
        AuditEntry.record(
            request.partner,
            "payment.refunded",
            actor=request.user,
            target=f"payment {payment.pk}",
            amount=str(result.amount),
            reference=result.reference,
        )
        amount = format_money(result.amount, result.currency)
        messages.success(request, f"Payment {payment.pk} refunded: {amount}.")
    return redirect("dashboard:payments")


# -- payouts ---------------------------------------------------------------------------


def writeback_statuses(partner: Partner, deposits: list) -> dict[int, list[dict]]:
    """Return, per deposit, how its write-back stands in each accounting connection."""
    wanting = {
        c: writeback.wants_deposits(c)
        for c in Connection.objects.for_partner(partner).order_by("pk")
    }
    connections = [
        c
        for c, wants in wanting.items()
        if wants or OutboundCommand.objects.filter(connection=c, action="create_deposit").exists()
    ]
    keys = {writeback.deposit_key(d.pk, c): (d.pk, c) for d in deposits for c in connections}
    commands = {
        cmd.idempotency_key: cmd for cmd in OutboundCommand.objects.filter(idempotency_key__in=keys)
    }
    blocked = {
        (item.local_id, item.connection_id): item
        for item in ExceptionItem.objects.for_partner(partner).filter(
            entity="deposit",
            local_id__in=[d.pk for d in deposits],
            status=ExceptionItem.Status.OPEN,
        )
    }
    statuses: dict[int, list[dict]] = {d.pk: [] for d in deposits}
    for key, (deposit_id, connection) in keys.items():
        command = commands.get(key)
        exception = blocked.get((deposit_id, connection.pk))
        statuses[deposit_id].append(
            {
                "connection": connection,
                "command": command,
                "exception": exception,
                "wants": wanting[connection],
            }
        )
    return statuses


@member_required()
def payouts(request: HttpRequest) -> HttpResponse:
    """List the processor's payouts, each as the deposit it became and where it was written."""
    page = paginate(
        request,
        Payout.objects.for_partner(request.partner)
        .select_related("deposit")
        .prefetch_related("deposit__lines__payment"),
    )
    deposits = [payout.deposit for payout in page if payout.deposit]
    statuses = writeback_statuses(request.partner, deposits)
    for payout in page:
        payout.writebacks = statuses.get(payout.deposit_id, [])
    ctx = {
        "page": "payments",
        "tab": "payouts",
        "payouts": page,
        "unmatched_count": unmatched_count(request.partner),
    }
    return render(request, "dashboard/payments/payouts.html", ctx)


# -- unmatched money --------------------------------------------------------------------


@member_required()
def unmatched(request: HttpRequest) -> HttpResponse:
    rows = UnmatchedFunds.objects.for_partner(request.partner)
    ctx = {
        "page": "payments",
        "tab": "unmatched",
        "open": rows.filter(status=UnmatchedFunds.Status.OPEN),
        "applied": rows.filter(status=UnmatchedFunds.Status.APPLIED)
        .select_related("payment", "applied_by")
        .prefetch_related("payment__allocations__invoice")
        .order_by("-applied_at", "-id")[:50],
        "unmatched_count": unmatched_count(request.partner),
    }
    return render(request, "dashboard/payments/unmatched.html", ctx)


@member_required()
def unmatched_badge(request: HttpRequest) -> HttpResponse:
    """Return the nav's count of money waiting for a person (loaded by htmx on each page)."""
    count = unmatched_count(request.partner)
    return render(request, "dashboard/payments/_unmatched_badge.html", {"count": count})


def find_invoices(partner: Partner, funds: UnmatchedFunds, q: str) -> list[Invoice]:
    """Return unpaid invoices by number or customer; without a search, those owing the amount."""
    rows = (
        Invoice.objects.for_partner(partner)
        .filter(archived=False, status__in=UNPAID, currency=funds.currency)
        .select_related("customer")
        .order_by("due_date", "number", "pk")
    )
    if q:
        rows = rows.filter(Q(number__icontains=q) | Q(customer__name__icontains=q))
    else:
        rows = rows.filter(balance=funds.amount)
    return list(rows[:SEARCH_RESULTS])


@member_required()
def apply_unmatched(request: HttpRequest, funds_id: int) -> HttpResponse:
    """Find invoices for queued money and apply it to them; the amounts must use all of it."""
    funds = get_object_or_404(UnmatchedFunds.objects.for_partner(request.partner), pk=funds_id)
    q = (request.POST.get("q") or request.GET.get("q") or "").strip()[:100]
    invoices = {invoice.pk: invoice for invoice in find_invoices(request.partner, funds, q)}
    errors, status = [], 200
    if request.method == "POST":
        if not request.membership.can_handle_money():
            return render(request, "dashboard/forbidden.html", status=403)
        posted = [key.removeprefix("amount-") for key in request.POST if key.startswith("amount-")]
        # Only this partner's invoices can be named, whatever ids the form carries.
        for invoice in Invoice.objects.for_partner(request.partner).filter(
            pk__in=[pk for pk in posted if pk.isdigit()]
        ):
            invoices.setdefault(invoice.pk, invoice)
        amounts, errors = parse_amounts(request.POST, invoices)
        if not errors:
            try:
                payment = events.apply_unmatched(funds, amounts, actor=request.user)
            except (services.CheckoutError, LedgerError) as e:
                errors.append(str(e))
            else:
                AuditEntry.record(
                    request.partner,
                    "unmatched.applied",
                    actor=request.user,
                    target=f"payment {payment.pk}",
                    reference=funds.reference,
                    invoices=[invoice.number for invoice in amounts],
                )
                numbers = ", ".join(invoice.number for invoice in amounts)
                amount = format_money(funds.amount, funds.currency)
                messages.success(request, f"Applied {amount} to {numbers}.")
                return redirect("dashboard:unmatched")
        status = 400
    ctx = {
        "page": "payments",
        "tab": "unmatched",
        "funds": funds,
        "q": q,
        # Each invoice with what the person typed for it, so a refused form keeps it.
        "rows": [
            (invoice, request.POST.get(f"amount-{invoice.pk}", ""))
            for invoice in sorted(invoices.values(), key=lambda i: (i.number, i.pk))
        ],
        "errors": errors,
        "unmatched_count": unmatched_count(request.partner),
    }
    return render(request, "dashboard/payments/apply_unmatched.html", ctx, status=status)
