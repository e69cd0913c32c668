"""The dashboard's reminder editor: sequences, each step's templates with a preview, and settings.

Owners and admins edit (Membership.can_manage); every member may look. A step
is previewed as the customer who owes most would get it today (a sample
customer when none owes anything), through the same `reminders.render` the
run sends with, so what the preview shows is what goes.
"""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from arbridge.collections import reminders
from arbridge.collections.forms import (
    CollectionsSettingsForm,
    NewStepForm,
    SequenceForm,
    StepForm,
)
from arbridge.collections.models import (
    DEFAULT_BODY,
    DEFAULT_SUBJECTS,
    CollectionsSettings,
    CustomerPolicy,
    Sequence,
    Step,
)
from arbridge.collections.worklist import overdue_customers
from arbridge.core import clock
from arbridge.core.access import member_required
from arbridge.core.models import AuditEntry, Membership, Partner
from arbridge.ledger.models import Customer, Invoice


def audit(request: HttpRequest, action: str, target: object, **detail) -> None:
    AuditEntry.record(request.partner, action, actor=request.user, target=str(target), **detail)


# -- sequences ---------------------------------------------------------------------------


@member_required()
def sequences(request: HttpRequest) -> HttpResponse:
    Sequence.default_for(request.partner)
    followers = dict(
        CustomerPolicy.objects.for_partner(request.partner)
        .filter(sequence__isnull=False)
        .values_list("sequence_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    rows = list(Sequence.objects.for_partner(request.partner).annotate(step_count=Count("steps")))
    for sequence in rows:
        sequence.followers = followers.get(sequence.pk, 0)
    ctx = {
        "page": "collections",
        "sequences": rows,
        "form": SequenceForm(),
        "can_edit": request.membership.can_manage(),
    }
    return render(request, "collections/sequences.html", ctx)


@require_POST
@member_required(Membership.can_manage)
def create_sequence(request: HttpRequest) -> HttpResponse:
    """Make a sequence for some customers, starting from a copy of the default's steps."""
    form = SequenceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A sequence needs a name.")
        return redirect("collections:sequences")
    default = Sequence.default_for(request.partner)
    with transaction.atomic():
        sequence = Sequence.objects.create(partner=request.partner, name=form.cleaned_data["name"])
        Step.objects.bulk_create(
            Step(
                partner=request.partner,
                sequence=sequence,
                offset_days=step.offset_days,
                subject_template=step.subject_template,
                body_template=step.body_template,
                is_final=step.is_final,
            )
            for step in default.steps.all()
        )
    audit(request, "collections.sequence_created", sequence)
    messages.success(request, f"Sequence “{sequence}” made from the default's steps.")
    return redirect("collections:sequence", sequence_id=sequence.pk)


def own_sequence(request: HttpRequest, sequence_id: int) -> Sequence:
    return get_object_or_404(Sequence.objects.for_partner(request.partner), pk=sequence_id)


@member_required()
def sequence(request: HttpRequest, sequence_id: int) -> HttpResponse:
    obj = own_sequence(request, sequence_id)
    form = SequenceForm(request.POST or None, instance=obj)
    if request.method == "POST":
        if not request.membership.can_manage():
            return render(request, "dashboard/forbidden.html", status=403)
        if form.is_valid():
            obj = form.save(commit=False)
            obj.updated_at = clock.now()
            obj.save(update_fields=["name", "updated_at"])
            audit(request, "collections.sequence_renamed", obj)
            messages.success(request, "Sequence saved.")
            return redirect("collections:sequence", sequence_id=obj.pk)
    followers = Customer.objects.for_partner(request.partner).filter(
        pk__in=CustomerPolicy.objects.filter(sequence=obj).values("customer_id")
    )
    ctx = {
        "page": "collections",
        "sequence": obj,
        "steps": obj.steps.all(),
        "form": form,
        "new_step": NewStepForm(),
        "followers": followers.order_by("name", "id"),
        "can_edit": request.membership.can_manage(),
    }
    return render(request, "collections/sequence.html", ctx)


@require_POST
@member_required(Membership.can_manage)
def make_default(request: HttpRequest, sequence_id: int) -> HttpResponse:
    obj = own_sequence(request, sequence_id)
    with transaction.atomic():
        Sequence.objects.for_partner(request.partner).filter(is_default=True).update(
            is_default=False
        )
        Sequence.objects.filter(pk=obj.pk).update(is_default=True, updated_at=clock.now())
        # Its own followers need no override now.
        CustomerPolicy.objects.filter(sequence=obj).update(sequence=None)
    audit(request, "collections.sequence_made_default", obj)
    messages.success(request, f"“{obj}” is the default sequence from each invoice's next step.")
    return redirect("collections:sequence", sequence_id=obj.pk)


@require_POST
@member_required(Membership.can_manage)
def delete_sequence(request: HttpRequest, sequence_id: int) -> HttpResponse:
    obj = own_sequence(request, sequence_id)
    if obj.is_default:
        messages.error(request, "The default sequence cannot be deleted; make another default.")
        return redirect("collections:sequence", sequence_id=obj.pk)
    obj.delete()  # its customers' overrides are cleared: they follow the default
    audit(request, "collections.sequence_deleted", obj)
    messages.success(request, f"Sequence “{obj}” deleted; its customers follow the default.")
    return redirect("collections:sequences")


@require_POST
@member_required(Membership.can_manage)
def add_step(request: HttpRequest, sequence_id: int) -> HttpResponse:
    obj = own_sequence(request, sequence_id)
    form = NewStepForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the step's day as a number of days from the due date.")
        return redirect("collections:sequence", sequence_id=obj.pk)
    offset = form.cleaned_data["offset_days"]
    step, created = Step.objects.get_or_create(
        sequence=obj,
        offset_days=offset,
        defaults={
            "partner": request.partner,
            "subject_template": DEFAULT_SUBJECTS.get(
                offset, "Invoices due to {{ partner_name }}: {{ step.label }}"
            ),
            "body_template": DEFAULT_BODY,
        },
    )
    if created:
        touch(obj)
        audit(request, "collections.step_added", obj, offset_days=offset)
    return redirect("collections:step", step_id=step.pk)


def touch(sequence: Sequence) -> None:
    Sequence.objects.filter(pk=sequence.pk).update(updated_at=clock.now())


def own_step(request: HttpRequest, step_id: int) -> Step:
    return get_object_or_404(
        Step.objects.for_partner(request.partner).select_related("sequence"), pk=step_id
    )


@require_POST
@member_required(Membership.can_manage)
def delete_step(request: HttpRequest, step_id: int) -> HttpResponse:
    step = own_step(request, step_id)
    step.delete()  # what it sent keeps its offset (Reminder.offset_days)
    touch(step.sequence)
    audit(request, "collections.step_deleted", step.sequence, offset_days=step.offset_days)
    messages.success(request, f"Step {step} deleted.")
    return redirect("collections:sequence", sequence_id=step.sequence_id)


# -- a step's templates and their preview ---------------------------------------------


@member_required()
def step(request: HttpRequest, step_id: int) -> HttpResponse:
    """Edit a step's subject and body; "Preview" shows the email without saving it."""
    obj = own_step(request, step_id)
    form = StepForm(request.POST or None, instance=obj)
    shown = obj
    if request.method == "POST":
        if not request.membership.can_manage():
            return render(request, "dashboard/forbidden.html", status=403)
        if form.is_valid():
            if request.POST.get("action") == "save":
                form.save()
                touch(obj.sequence)
                audit(request, "collections.step_saved", obj.sequence, offset_days=obj.offset_days)
                messages.success(request, f"Step {obj} saved; it applies from the next run.")
                return redirect("collections:step", step_id=obj.pk)
            shown = form.instance  # the edits, unsaved
        else:
            shown = None
    ctx = {
        "page": "collections",
        "step": obj,
        "sequence": obj.sequence,
        "form": form,
        "preview": preview(request.partner, shown) if shown is not None else None,
        "can_edit": request.membership.can_manage(),
        "from_email": settings.DEFAULT_FROM_EMAIL,
    }
    return render(request, "collections/step.html", ctx)


def sample(partner: Partner, offset: int, today: dt.date) -> tuple[Customer, list[Invoice]]:
    """Return the customer who owes most and their open invoices, or a made-up pair."""
    first = overdue_customers(partner.pk, today).first()
    if first is not None:
        customer = Customer.objects.get(pk=first["customer_id"])
        # Paused or held back, it still shows what the step says.
        invoices = list(
            Invoice.objects.filter(
                customer=customer,
                status__in=reminders.UNPAID,
                archived=False,
                balance__gt=0,
                due_date__isnull=False,
            ).order_by("due_date", "id")
        )
        if invoices:
            return customer, invoices
    customer = Customer(partner=partner, name="Sample Customer Ltd")
    invoice = Invoice(
        partner=partner,
        customer=customer,
        number="INV-0001",
        currency=partner.default_currency,
        issue_date=today - dt.timedelta(days=30 + offset),
        due_date=today - dt.timedelta(days=offset),
        total=Decimal("1250.00"),
        balance=Decimal("1250.00"),
    )
    return customer, [invoice]


def preview(partner: Partner, step: Step) -> dict:
    """Render a step for the sample customer; the pay link is the partner's billing link."""
    today = clock.today()
    customer, invoices = sample(partner, step.offset_days, today)
    urls = reminders.Urls(partner)
    pay_url = reminders.absolute(reverse("portal:billing_link", args=[partner.slug]))
    try:
        subject, body = reminders.render(
            reminders.Templates(),
            urls,
            partner,
            customer,
            invoices,
            step,
            step.offset_days,
            pay_url,
            reminders.absolute(reverse("collections:unsubscribe", args=["preview"])),
            today,
        )
    except Exception as e:  # noqa: BLE001 - a template error is shown, not raised
        return {"error": f"The template could not be rendered: {e}", "customer": customer}
    return {"subject": subject, "body": body, "customer": customer, "pay_url": pay_url}


# -- settings ------------------------------------------------------------------------------


@member_required(Membership.can_manage)
def collections_settings(request: HttpRequest) -> HttpResponse:
    found = CollectionsSettings.for_partner(request.partner)
    form = CollectionsSettingsForm(request.POST or None, instance=found)
    if request.method == "POST" and form.is_valid():
        form.save()
        audit(request, "collections.settings_changed", request.partner, fields=form.changed_data)
        messages.success(request, "Collections settings saved.")
        return redirect("collections:settings")
    return render(request, "collections/settings.html", {"page": "collections", "form": form})
