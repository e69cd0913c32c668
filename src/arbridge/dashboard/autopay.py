"""The partner's side of auto pay: settings, rules, enrollments and the charges coming up.

What auto pay does is in arbridge.autopay (the runner charges, enrollment.py
enrolls and un-enrolls with the evidence); these pages show it and pass on
what the partner posts. Rows are read through `for_partner(request.partner)`,
so another partner's ids give 404. Settings and rules need a manager;
enrolling, un-enrolling and the pilot need a member who handles money.
"""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from arbridge.autopay import enrollment as enrollments
from arbridge.autopay import priorities, runner
from arbridge.autopay.models import AutopaySettings, Enrollment, Rule
from arbridge.core import clock
from arbridge.core.access import member_required
from arbridge.core.models import AuditEntry, Membership
from arbridge.ledger.models import Customer

UPCOMING_DAYS = 30


# -- forms ---------------------------------------------------------------------------


class SettingsForm(forms.ModelForm):
    class Meta:
        model = AutopaySettings
        fields = ["enabled", "pilot", "lead_days", "retry_days"]
        labels = {
            "enabled": "Auto pay is on",
            "pilot": "Pilot: charge only the customers marked as pilot",
            "lead_days": "Days of notice before a charge",
            "retry_days": "Days between retries of a soft decline",
        }

    def clean_retry_days(self) -> str:
        raw = self.cleaned_data["retry_days"].replace(" ", "")
        parts = [part for part in raw.split(",") if part]
        if not parts or not all(part.isdigit() and 0 < int(part) <= 30 for part in parts):
            raise forms.ValidationError("Enter days from 1 to 30, separated by commas: 3,5,7.")
        return ",".join(parts)


class RuleForm(forms.ModelForm):
    class Meta:
        model = Rule
        fields = ["trigger", "days", "terms", "agreements", "amount_cap", "active"]
        labels = {"trigger": "Charge", "amount_cap": "Amount cap", "active": "Active"}


class PartnerEnrollForm(forms.Form):
    """The partner enrolls a customer who authorized auto pay outside arbridge."""

    method = forms.ChoiceField(label="Payment method", widget=forms.RadioSelect)
    how = forms.CharField(
        label="How the customer authorized it",
        max_length=500,
        help_text="For example: signed authorization form of Dec 1, kept in the customer's file.",
    )
    agreed = forms.BooleanField(
        label="The customer agreed to the authorization shown for this method",
        required=True,
    )

    def __init__(self, methods, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = [
            (m.pk, f"{m.brand.title()} ending {m.last4}") for m in methods
        ]


# -- settings, rules, enrollments ----------------------------------------------------


def settings_page(request: HttpRequest, form: SettingsForm | None = None, status: int = 200):
    current = AutopaySettings.of(request.partner)
    enrolled = (
        Enrollment.objects.for_partner(request.partner)
        .select_related("customer", "method")
        .order_by("customer__name", "id")
    )
    ctx = {
        "page": "autopay",
        "form": form or SettingsForm(instance=current),
        "current": current,
        "rules": priorities.ordered(request.partner.pk),
        "enrollments": enrolled,
        "pilot_count": enrolled.filter(pilot=True)
        .exclude(status=Enrollment.Status.CANCELLED)
        .count(),
        "can_manage": request.membership.can_manage(),
        "can_enroll": request.membership.can_handle_money(),
    }
    return render(request, "dashboard/autopay/autopay.html", ctx, status=status)


@member_required()
def autopay(request: HttpRequest) -> HttpResponse:
    return settings_page(request)


@require_POST
@member_required(Membership.can_manage)
def save_settings(request: HttpRequest) -> HttpResponse:
    current = AutopaySettings.of(request.partner)
    form = SettingsForm(request.POST, instance=current)
    if not form.is_valid():
        return settings_page(request, form, status=400)
    current = form.save(commit=False)
    current.updated_at = clock.now()
    current.save()
    AuditEntry.record(
        request.partner,
        "autopay.settings_changed",
        actor=request.user,
        enabled=current.enabled,
        pilot=current.pilot,
        lead_days=current.lead_days,
        retry_days=current.retry_days,
    )
    messages.success(request, "Auto pay settings saved.")
    return redirect("dashboard:autopay")


@member_required(Membership.can_manage)
def rule(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    """Add a rule (tried last), or change one; a change reaches the invoices already open."""
    obj = (
        get_object_or_404(Rule.objects.for_partner(request.partner), pk=rule_id)
        if rule_id is not None
        else Rule(partner=request.partner, priority=priorities.next_priority(request.partner.pk))
    )
    form = RuleForm(request.POST or None, instance=obj)
    if request.method == "POST" and form.is_valid():
        form.save()
        action = "autopay.rule_changed" if rule_id else "autopay.rule_added"
        AuditEntry.record(request.partner, action, actor=request.user, target=str(obj))
        messages.success(request, f"Rule “{obj}” saved.")
        return redirect("dashboard:autopay")
    ctx = {"page": "autopay", "form": form, "rule": obj if rule_id else None}
    status = 400 if form.errors else 200
    return render(request, "dashboard/autopay/rule.html", ctx, status=status)


@require_POST
@member_required(Membership.can_manage)
def move_rule(request: HttpRequest, rule_id: int) -> HttpResponse:
    obj = get_object_or_404(Rule.objects.for_partner(request.partner), pk=rule_id)
    priorities.move(obj, -1 if request.POST.get("direction") == "up" else 1)
    AuditEntry.record(request.partner, "autopay.rules_reordered", actor=request.user)
    return redirect("dashboard:autopay")


@require_POST
@member_required(Membership.can_manage)
def delete_rule(request: HttpRequest, rule_id: int) -> HttpResponse:
    obj = get_object_or_404(Rule.objects.for_partner(request.partner), pk=rule_id)
    obj.delete()
    AuditEntry.record(request.partner, "autopay.rule_deleted", actor=request.user, target=str(obj))
    messages.success(request, f"Rule “{obj}” deleted.")
    return redirect("dashboard:autopay")


@member_required()
def upcoming(request: HttpRequest) -> HttpResponse:
    """The charges auto pay will make in the next 30 days, soonest first."""
    ctx = {
        "page": "autopay",
        "days": UPCOMING_DAYS,
        "current": AutopaySettings.of(request.partner),
        "charges": runner.upcoming(request.partner.pk, days=UPCOMING_DAYS),
    }
    return render(request, "dashboard/autopay/upcoming.html", ctx)


# -- one customer's enrollment -------------------------------------------------------


def partner_customer(request: HttpRequest, customer_id: int) -> Customer:
    return get_object_or_404(Customer.objects.for_partner(request.partner), pk=customer_id)


@member_required(Membership.can_handle_money)
def enroll(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Enroll a customer who authorized auto pay, recording how and who entered it."""
    customer = partner_customer(request, customer_id)
    methods = list(enrollments.usable_methods(customer))
    form = PartnerEnrollForm(methods, request.POST or None)
    if request.method == "POST" and form.is_valid():
        evidence = enrollments.Evidence.of(
            request, entered_by=request.user.get_username(), how=form.cleaned_data["how"]
        )
        try:
            enrollments.enroll(
                customer,
                form.cleaned_data["method"],
                source=Enrollment.Source.PARTNER,
                agreed=form.cleaned_data["agreed"],
                evidence=evidence,
                actor=request.user,
            )
        except enrollments.EnrollmentError as e:
            form.add_error(None, str(e))
        else:
            messages.success(request, f"{customer} is enrolled in auto pay.")
            return redirect("dashboard:customer", customer_id=customer.pk)
    texts = {m.pk: enrollments.authorization_text(request.partner, m.kind) for m in methods}
    ctx = {
        "page": "customers",
        "customer": customer,
        "form": form,
        "methods": [(m, texts[m.pk]) for m in methods],
    }
    status = 400 if form.errors else 200
    return render(request, "dashboard/autopay/enroll.html", ctx, status=status)


@require_POST
@member_required(Membership.can_handle_money)
def unenroll(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = partner_customer(request, customer_id)
    enrollment = enrollments.enrollment_of(customer)
    if enrollment is not None and enrollments.unenroll(
        enrollment, source=Enrollment.Source.PARTNER, actor=request.user
    ):
        messages.success(request, f"Auto pay is off for {customer}.")
    return redirect("dashboard:customer", customer_id=customer.pk)


@require_POST
@member_required(Membership.can_handle_money)
def pilot(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = partner_customer(request, customer_id)
    enrollment = enrollments.enrollment_of(customer)
    if enrollment is None or enrollment.status == Enrollment.Status.CANCELLED:
        messages.error(request, f"{customer} is not enrolled in auto pay.")
        return redirect("dashboard:customer", customer_id=customer.pk)
    enrollments.set_pilot(enrollment, request.POST.get("pilot") == "on")
    state = "in" if enrollment.pilot else "out of"
    AuditEntry.record(
        request.partner,
        "autopay.pilot_changed",
        actor=request.user,
        target=str(customer),
        pilot=enrollment.pilot,
    )
    messages.success(request, f"{customer} is {state} the auto pay pilot.")
    if request.POST.get("next") == "autopay":
        return redirect("dashboard:autopay")
    return redirect("dashboard:customer", customer_id=customer.pk)
