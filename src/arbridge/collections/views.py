"""Collections pages: the public unsubscribe page, and the dashboard's worklist and customer page.

Dashboard pages are wrapped in `member_required` and fetch every row through
`for_partner(request.partner)`, so another partner's ids give 404. Any member
may look; recording notes, sending, pausing and choosing a sequence need a
member who handles money (not a viewer). Every action writes an AuditEntry.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from arbridge.collections import reminders
from arbridge.collections.forms import CustomerSequenceForm, NoteForm, PauseForm
from arbridge.collections.models import (
    CustomerPolicy,
    Note,
    Reminder,
    ReminderEmail,
    Sequence,
    Unsubscribe,
    contact_from_token,
)
from arbridge.collections.worklist import (
    annotate_rows,
    email_steps,
    next_reminders,
    overdue_customers,
)
from arbridge.core import clock
from arbridge.core.access import member_required
from arbridge.core.models import AuditEntry, Membership, Partner
from arbridge.ledger.models import Contact, Customer

PAGE_SIZE = 50


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
    partner = Partner.objects.get(pk=contact.partner_id)
    done = Unsubscribe.objects.filter(contact=contact).exists()
    if request.method == "POST" and not done:
        Unsubscribe.objects.create(partner_id=contact.partner_id, contact=contact)
        done = True
    ctx = {"contact": contact, "partner": partner, "done": done}
    return render(request, "collections/unsubscribe.html", ctx)


# -- the worklist ------------------------------------------------------------------------


@member_required()
def worklist(request: HttpRequest) -> HttpResponse:
    """Customers by amount overdue and days late, with what was sent and what comes next."""
    today = clock.today()
    page = Paginator(overdue_customers(request.partner.pk, today), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = annotate_rows(request.partner.pk, today, list(page.object_list))
    for row in rows:
        row.steps = email_steps(row.last_sent) if row.last_sent else ""
    ctx = {"page": "collections", "rows": rows, "page_obj": page, "today": today}
    return render(request, "collections/worklist.html", ctx)


@member_required()
def customer(request: HttpRequest, customer_id: int) -> HttpResponse:
    """One customer's collections: open invoices and their reminders, emails, notes, actions."""
    obj = get_object_or_404(Customer.objects.for_partner(request.partner), pk=customer_id)
    today = clock.today()
    policy = CustomerPolicy.objects.filter(customer=obj).first()
    invoices = list(
        obj.invoices.filter(status__in=reminders.UNPAID, archived=False, balance__gt=0).order_by(
            "due_date", "id"
        )
    )
    coming = next_reminders(request.partner.pk, today, [obj.pk])
    for invoice in invoices:
        invoice.next_reminder = coming.get(invoice.pk)
        invoice.days_late = (today - invoice.due_date).days if invoice.due_date else 0
    emails = list(
        ReminderEmail.objects.for_partner(request.partner)
        .filter(customer=obj)
        .prefetch_related("reminders__invoice")[:50]
    )
    for email in emails:
        email.steps = email_steps(email)
        email.numbers = sorted({r.invoice.number for r in email.reminders.all()})
    ctx = {
        "page": "collections",
        "customer": obj,
        "policy": policy,
        "invoices": invoices,
        "emails": emails,
        "notes": Note.objects.for_partner(request.partner)
        .filter(customer=obj)
        .select_related("author"),
        "note_form": NoteForm(),
        "sequence_form": CustomerSequenceForm(
            request.partner, initial={"sequence": policy.sequence_id if policy else None}
        ),
        "can_act": request.membership.can_handle_money(),
        "billing_contacts": obj.contacts.filter(is_billing=True).exclude(email=""),
        "unsubscribed": set(
            Unsubscribe.objects.filter(contact__customer=obj).values_list("contact_id", flat=True)
        ),
    }
    return render(request, "collections/customer.html", ctx)


def back(request: HttpRequest, obj: Customer) -> HttpResponse:
    """Return to the worklist when the action was taken there, else to the customer."""
    if request.POST.get("from") == "worklist":
        return redirect("collections:worklist")
    return redirect("collections:customer", customer_id=obj.pk)


def own_customer(request: HttpRequest, customer_id: int) -> Customer:
    return get_object_or_404(Customer.objects.for_partner(request.partner), pk=customer_id)


@require_POST
@member_required(Membership.can_handle_money)
def add_note(request: HttpRequest, customer_id: int) -> HttpResponse:
    obj = own_customer(request, customer_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        note = form.save(commit=False)
        note.partner, note.customer, note.author = request.partner, obj, request.user
        note.save()
        action = "collections.promise_recorded" if note.is_promise else "collections.note_added"
        AuditEntry.record(request.partner, action, actor=request.user, target=str(obj))
        messages.success(request, "Promise to pay recorded." if note.is_promise else "Note added.")
    else:
        errors = "; ".join(e for field in form.errors.values() for e in field)
        messages.error(request, f"Nothing recorded: {errors}")
    return redirect("collections:customer", customer_id=obj.pk)


@require_POST
@member_required(Membership.can_handle_money)
def send_now(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Email the customer their open invoices now, outside the schedule."""
    obj = own_customer(request, customer_id)
    if not reminders.chasable(request.partner.pk).filter(customer=obj).exists():
        messages.info(request, f"{obj} has no open invoice to remind of: nothing was sent.")
        return back(request, obj)
    email = reminders.send_now(obj, by=request.user)
    AuditEntry.record(
        request.partner, "collections.sent_now", actor=request.user, target=str(obj), email=email.pk
    )
    if email.status == ReminderEmail.Status.SENT:
        messages.success(request, f"Reminder sent to {email.recipients}.")
    else:
        messages.error(request, f"Not sent ({email.get_status_display()}): {email.error}")
    return back(request, obj)


@require_POST
@member_required(Membership.can_handle_money)
def pause(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Stop reminders and statements to the customer until someone resumes them."""
    obj = own_customer(request, customer_id)
    form = PauseForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    CustomerPolicy.for_customer(obj).pause(by=request.user, reason=reason)
    AuditEntry.record(
        request.partner, "collections.paused", actor=request.user, target=str(obj), reason=reason
    )
    messages.success(request, f"Reminders to {obj} are paused.")
    return back(request, obj)


@require_POST
@member_required(Membership.can_handle_money)
def resume(request: HttpRequest, customer_id: int) -> HttpResponse:
    obj = own_customer(request, customer_id)
    CustomerPolicy.for_customer(obj).resume()
    AuditEntry.record(request.partner, "collections.resumed", actor=request.user, target=str(obj))
    messages.success(request, f"Reminders to {obj} resume with the next step due.")
    return redirect("collections:customer", customer_id=obj.pk)


@require_POST
@member_required(Membership.can_handle_money)
def choose_sequence(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Have the customer follow another sequence than the default (or the default again)."""
    obj = own_customer(request, customer_id)
    form = CustomerSequenceForm(request.partner, request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of your sequences.")
        return redirect("collections:customer", customer_id=obj.pk)
    sequence: Sequence | None = form.cleaned_data["sequence"]
    policy = CustomerPolicy.for_customer(obj)
    policy.sequence = None if sequence is None or sequence.is_default else sequence
    policy.save(update_fields=["sequence"])
    AuditEntry.record(
        request.partner,
        "collections.sequence_chosen",
        actor=request.user,
        target=str(obj),
        sequence=str(policy.sequence or "default"),
    )
    messages.success(
        request, f"{obj} follows {policy.sequence or 'the default sequence'} from its next step."
    )
    return redirect("collections:customer", customer_id=obj.pk)


def invoice_activity(invoice_id: int) -> list[Reminder]:
    """Return every reminder of an invoice, newest first, with the email that carried it."""
    return list(
        Reminder.objects.filter(invoice_id=invoice_id).select_related("email", "email__created_by")
    )
