"""The partner-facing pages.

Every page is wrapped in `member_required`, which puts the member's current
partner on the request, and every row is fetched through
`for_partner(request.partner)`, so another partner's ids give 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.views.decorators.http import require_POST

from arbridge.core import clock
from arbridge.core.access import SESSION_KEY, member_required
from arbridge.core.models import ApiKey, AuditEntry, Connection, Membership
from arbridge.dashboard.forms import (
    ApiKeyForm,
    BrandingForm,
    CustomerSearchForm,
    ExceptionFilterForm,
    InvoiceSearchForm,
    SyncRunFilterForm,
)
from arbridge.dashboard.integrations import connectable_kinds
from arbridge.integrations import tasks
from arbridge.integrations.models import ExceptionItem, ExternalRef, SyncRun
from arbridge.ledger.models import Customer, Invoice

PAGE_SIZE = 50
UNPAID = (Invoice.Status.OPEN, Invoice.Status.PARTIALLY_PAID)


def paginate(request: HttpRequest, queryset: QuerySet) -> Page:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def wants_fragment(request: HttpRequest) -> bool:
    """Return True for an htmx request that swaps only part of a page."""
    # On back/forward htmx may re-request a pushed URL; that needs the whole page.
    return bool(request.htmx) and not request.htmx.history_restore_request


def render_list(request: HttpRequest, template: str, fragment: str, context: dict) -> HttpResponse:
    """Render the whole page, or only its table for htmx."""
    response = render(request, fragment if wants_fragment(request) else template, context)
    # The same URL answers with a page or a fragment; caches must tell them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


def linked_refs(request: HttpRequest, entity: str, local_id: int) -> QuerySet:
    """Return the records in external systems that a local row is linked to."""
    return (
        ExternalRef.objects.for_partner(request.partner)
        .filter(entity=entity, local_id=local_id)
        .select_related("connection")
        .order_by("connection__role", "connection_id")
    )


def with_last_run(connections: QuerySet) -> QuerySet:
    """Annotate each connection with the status and time of its latest sync run."""
    latest = SyncRun.objects.filter(connection=OuterRef("pk")).order_by("-id")
    return connections.annotate(
        last_run_status=Subquery(latest.values("status")[:1]),
        last_run_queued_at=Subquery(latest.values("queued_at")[:1]),
    )


# -- partner -------------------------------------------------------------------


@require_POST
@login_required
def switch_partner(request: HttpRequest, partner_id: int) -> HttpResponse:
    """Make another of the user's partners the current one."""
    membership = get_object_or_404(Membership, user=request.user, partner_id=partner_id)
    request.session[SESSION_KEY] = membership.partner_id
    messages.info(request, f"Now working in {membership.partner.display_name}.")
    # The page the user was on shows the previous partner's rows; start afresh.
    return redirect("dashboard:overview")


@member_required(Membership.can_manage)
def partner_settings(request: HttpRequest) -> HttpResponse:
    partner = request.partner
    form = BrandingForm(request.POST or None, request.FILES or None, instance=partner)
    if request.method == "POST" and form.is_valid():
        form.save()
        AuditEntry.record(
            partner, "partner.branding_changed", actor=request.user, fields=form.changed_data
        )
        messages.success(request, "Branding saved.")
        return redirect("dashboard:settings")
    return render(request, "dashboard/settings.html", {"page": "settings", "form": form})


# -- connections and sync runs --------------------------------------------------


@member_required()
def connections(request: HttpRequest) -> HttpResponse:
    rows = with_last_run(Connection.objects.for_partner(request.partner))
    ctx = {"page": "connections", "connections": rows, "connectable": connectable_kinds()}
    return render(request, "dashboard/connections.html", ctx)


@require_POST
@member_required(Membership.can_manage)
def sync_now(request: HttpRequest, connection_id: int) -> HttpResponse:
    """Queue a manual sync of one connection."""
    connection = get_object_or_404(
        Connection.objects.for_partner(request.partner), pk=connection_id
    )
    run = tasks.request_sync(connection, trigger=SyncRun.Trigger.MANUAL)
    AuditEntry.record(
        request.partner, "connection.sync_requested", actor=request.user, target=str(connection)
    )
    messages.success(request, f"Sync of {connection} queued (run {run.pk}).")
    return redirect("dashboard:connections")


@member_required()
def sync_runs(request: HttpRequest) -> HttpResponse:
    form = SyncRunFilterForm(request.partner, request.GET)
    form.is_valid()
    runs = SyncRun.objects.for_partner(request.partner).select_related("connection")
    if connection := form.cleaned_data.get("connection"):
        runs = runs.filter(connection=connection)
    ctx = {"page": "sync_runs", "form": form, "runs": paginate(request, runs)}
    return render(request, "dashboard/sync_runs.html", ctx)


# -- customers and invoices -------------------------------------------------------


@member_required()
def customers(request: HttpRequest) -> HttpResponse:
    form = CustomerSearchForm(request.GET)
    form.is_valid()
    q = form.cleaned_data.get("q", "").strip()
    archived = form.cleaned_data.get("archived", "")
    rows = Customer.objects.for_partner(request.partner)
    if archived == "archived":
        rows = rows.filter(archived=True)
    elif archived != "all":
        rows = rows.filter(archived=False)
    if q:
        rows = rows.filter(Q(name__icontains=q) | Q(email__icontains=q))
    # An aggregate drops Meta.ordering, so the pages need it restated.
    rows = rows.annotate(
        invoice_count=Count("invoices"),
        unpaid_count=Count("invoices", filter=Q(invoices__status__in=UNPAID)),
    ).order_by("name", "id")
    ctx = {"page": "customers", "form": form, "customers": paginate(request, rows)}
    return render_list(request, "dashboard/customers.html", "dashboard/customers_table.html", ctx)


@member_required()
def customer(request: HttpRequest, customer_id: int) -> HttpResponse:
    obj = get_object_or_404(Customer.objects.for_partner(request.partner), pk=customer_id)
    invoices = obj.invoices.select_related("connection")
    ctx = {
        "page": "customers",
        "customer": obj,
        "billing_contacts": obj.contacts.filter(is_billing=True).order_by("name", "id"),
        "invoices": paginate(request, invoices),
        "refs": linked_refs(request, ExternalRef.Entity.CUSTOMER, obj.pk),
    }
    return render(request, "dashboard/customer.html", ctx)


@member_required()
def invoices(request: HttpRequest) -> HttpResponse:
    form = InvoiceSearchForm(request.GET)
    form.is_valid()
    q = form.cleaned_data.get("q", "").strip()
    status = form.cleaned_data.get("status", "")
    rows = Invoice.objects.for_partner(request.partner).select_related("customer")
    if status == InvoiceSearchForm.OVERDUE:
        rows = rows.filter(status__in=UNPAID, due_date__lt=clock.today())
    elif status:
        rows = rows.filter(status=status)
    if q:
        rows = rows.filter(Q(number__icontains=q) | Q(customer__name__icontains=q))
    ctx = {"page": "invoices", "form": form, "invoices": paginate(request, rows)}
    return render_list(request, "dashboard/invoices.html", "dashboard/invoices_table.html", ctx)


@member_required()
def invoice(request: HttpRequest, invoice_id: int) -> HttpResponse:
    obj = get_object_or_404(
        Invoice.objects.for_partner(request.partner).select_related("customer", "connection"),
        pk=invoice_id,
    )
    ctx = {
        "page": "invoices",
        "invoice": obj,
        "lines": obj.lines.all(),
        "allocations": obj.allocations.select_related("payment__connection").order_by(
            "payment__date", "id"
        ),
        "credits": obj.credits.select_related("connection").order_by("date", "id"),
        "refs": linked_refs(request, ExternalRef.Entity.INVOICE, obj.pk),
    }
    return render(request, "dashboard/invoice.html", ctx)


# -- exceptions ---------------------------------------------------------------------


@member_required()
def exceptions(request: HttpRequest) -> HttpResponse:
    form = ExceptionFilterForm(request.GET)
    form.is_valid()
    status = form.cleaned_data.get("status") or "open"
    rows = ExceptionItem.objects.for_partner(request.partner).select_related("connection")
    if status != "all":
        rows = rows.filter(status=status)
    ctx = {"page": "exceptions", "status": status, "items": paginate(request, rows)}
    return render(request, "dashboard/exceptions.html", ctx)


@member_required()
def exception(request: HttpRequest, exception_id: int) -> HttpResponse:
    item = get_object_or_404(
        ExceptionItem.objects.for_partner(request.partner).select_related(
            "connection", "command", "sync_run", "resolved_by"
        ),
        pk=exception_id,
    )
    return render(request, "dashboard/exception.html", {"page": "exceptions", "item": item})


@require_POST
@member_required(Membership.can_handle_money)
def resolve_exception(request: HttpRequest, exception_id: int) -> HttpResponse:
    item = get_object_or_404(ExceptionItem.objects.for_partner(request.partner), pk=exception_id)
    if item.resolve(request.user):
        AuditEntry.record(
            request.partner, "exception.resolved", actor=request.user, target=f"exception {item.pk}"
        )
        messages.success(request, "Exception resolved.")
    else:
        messages.info(request, "This exception was already resolved.")
    return redirect("dashboard:exception", exception_id=item.pk)


@require_POST
@member_required(Membership.can_handle_money)
def retry_exception(request: HttpRequest, exception_id: int) -> HttpResponse:
    item = get_object_or_404(ExceptionItem.objects.for_partner(request.partner), pk=exception_id)
    if not item.can_retry:
        messages.error(request, "There is nothing to retry for this exception.")
    elif tasks.retry_exception(item, request.user) is None:
        messages.info(request, "This exception was already resolved; nothing was retried.")
    else:
        AuditEntry.record(
            request.partner, "exception.retried", actor=request.user, target=f"exception {item.pk}"
        )
        messages.success(request, "Retry queued; the exception is resolved.")
    return redirect("dashboard:exception", exception_id=item.pk)


# -- API keys ---------------------------------------------------------------------------


@member_required(Membership.can_manage)
def api_keys(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST or None)
    raw_key = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        key, raw_key = ApiKey.issue(request.partner, data["name"], request.user, data["scope"])
        AuditEntry.record(request.partner, "api_key.created", actor=request.user, target=str(key))
        form = ApiKeyForm()
    keys = ApiKey.objects.for_partner(request.partner).select_related("created_by")
    ctx = {
        "page": "api_keys",
        "form": form,
        "keys": keys.order_by("revoked_at", "-created_at", "-id"),
        "raw_key": raw_key,
    }
    response = render(request, "dashboard/api_keys.html", ctx)
    # The raw key is in this page once: keep it out of every cache.
    add_never_cache_headers(response)
    return response


@require_POST
@member_required(Membership.can_manage)
def revoke_api_key(request: HttpRequest, key_id: int) -> HttpResponse:
    key = get_object_or_404(ApiKey.objects.for_partner(request.partner), pk=key_id)
    key.revoke()
    AuditEntry.record(request.partner, "api_key.revoked", actor=request.user, target=str(key))
    messages.success(request, f"Key “{key.name}” revoked.")
    return redirect("dashboard:api_keys")
