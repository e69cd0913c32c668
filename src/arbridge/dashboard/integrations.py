"""The integrations pages: connect any kind, a connection's role and preferences, PDFs.

One flow for every connector, by its `auth`: an OAuth2 kind sends the person
to its vendor and back to `oauth_callback` (arbridge.integrations.oauth),
then, where one consent reaches several accounts, to a page to pick one; a
credentials kind shows a form drawn from its Credentials model, checked by a
call before anything is kept (arbridge.integrations.credentials). As on
every dashboard page, rows are fetched through `for_partner(request.partner)`:
another partner's ids give 404.
"""

import logging

from django.contrib import messages
from django.db import IntegrityError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from arbridge.connectors.base import ConnectorError
from arbridge.core.access import member_required
from arbridge.core.models import AuditEntry, Connection, Membership
from arbridge.dashboard.integration_forms import (
    ConnectForm,
    RoleForm,
    SchemaForm,
    connected,
    save_preferences,
)
from arbridge.integrations import credentials, oauth, registry, subscriptions
from arbridge.integrations.connect import build_connector, http_client
from arbridge.integrations.pdfs import cached_pdf, native_pdf_ref, safe
from arbridge.ledger.models import Invoice

logger = logging.getLogger(__name__)


def partner_connection(request: HttpRequest, connection_id: int) -> Connection:
    return get_object_or_404(Connection.objects.for_partner(request.partner), pk=connection_id)


def connectable_kinds() -> list[tuple[str, str]]:
    """Return (kind, name) of every kind a partner can connect here, in the registry's order."""
    return [(kind, registry.display_name(kind)) for kind in registry.built()]


# -- connecting -------------------------------------------------------------------


@member_required(Membership.can_manage)
def connect(request: HttpRequest, kind: str) -> HttpResponse:
    """Connect the partner's system of this kind: its vendor's consent, or its credentials."""
    if not registry.is_available(kind):
        raise Http404("No such integration.")
    connection = (
        Connection.objects.for_partner(request.partner).filter(kind=kind).order_by("pk").first()
    )
    if oauth.is_oauth(kind):
        if connection is None:
            connection = Connection.objects.create(
                partner=request.partner, kind=kind, status=Connection.Status.PENDING
            )
        return to_consent(request, connection)
    schema = credentials.credentials_model(kind)
    initial = {"role": connection.role or ""} if connection else {}
    form = ConnectForm(schema, request.partner, connection, request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        if connection is None:
            connection = Connection(partner=request.partner, kind=kind)
        connection.role = form.cleaned_data["role"]
        try:
            credentials.connect(connection, form.model)
        except credentials.ConnectError as e:
            form.add_error(None, str(e))
        else:
            return connected(request, connection, role=connection.role)
    takes_webhooks = registry.load(kind).capabilities.webhooks == "connection"
    ctx = {
        "page": "connections",
        "form": form,
        "kind": kind,
        "name": registry.display_name(kind),
        "webhook_url": (
            subscriptions.webhook_url(connection)
            if takes_webhooks and connection is not None and connection.pk
            else ""
        ),
    }
    return render(request, "dashboard/connect.html", ctx, status=400 if form.errors else 200)


@member_required(Membership.can_manage)
def reconnect(request: HttpRequest, connection_id: int) -> HttpResponse:
    """Authorize a connection again, as after a disconnect or a refused token."""
    connection = partner_connection(request, connection_id)
    if not oauth.is_oauth(connection.kind):
        raise Http404("This connection is not authorized through its vendor.")
    return to_consent(request, connection)


def to_consent(request: HttpRequest, connection: Connection) -> HttpResponse:
    """Send the person to the vendor's consent screen for the connection."""
    try:
        return redirect(oauth.authorization_url(connection, request.user))
    except oauth.AuthorizationError as e:
        messages.error(request, str(e))
        return redirect("dashboard:connections")


@member_required(Membership.can_manage)
def oauth_callback(request: HttpRequest, kind: str) -> HttpResponse:
    """Finish connecting: the vendor sends the person back here with a code."""
    if not oauth.is_oauth(kind):
        raise Http404("No such integration.")
    state = request.GET.get("state", "")
    try:
        connection = oauth.connection_from_state(kind, state, request.partner, request.user)
        tenants = oauth.complete_authorization(connection, request.build_absolute_uri(), state)
    except oauth.AuthorizationError as e:
        messages.error(request, str(e))
        return redirect("dashboard:connections")
    if tenants:
        return redirect("dashboard:pick_account", connection_id=connection.pk)
    return connected(request, connection, account=connection.remote_account)


@member_required(Membership.can_manage)
def pick_account(request: HttpRequest, connection_id: int) -> HttpResponse:
    """Pick the account a consent that reached several is for (Xero's organisations)."""
    connection = partner_connection(request, connection_id)
    if not oauth.is_oauth(connection.kind) or connection.status == Connection.Status.CONNECTED:
        return redirect("dashboard:connection", connection_id=connection.pk)
    try:
        tenants = oauth.reachable_tenants(connection)
    except oauth.AuthorizationError as e:
        messages.error(request, str(e))
        return redirect("dashboard:connections")
    if request.method == "POST":
        chosen = request.POST.get("account", "")
        if chosen in {t.id for t in tenants}:
            try:
                oauth.choose_account(connection, chosen)
            except oauth.AuthorizationError as e:
                messages.error(request, str(e))
            else:
                return connected(request, connection, account=chosen)
        else:
            messages.error(request, "Choose one of the accounts listed.")
    ctx = {"page": "connections", "connection": connection, "tenants": tenants}
    return render(request, "dashboard/pick_account.html", ctx)


@require_POST
@member_required(Membership.can_manage)
def disconnect(request: HttpRequest, connection_id: int) -> HttpResponse:
    """Stop syncing: forget the connection's credentials, keep everything it brought."""
    connection = partner_connection(request, connection_id)
    if oauth.is_oauth(connection.kind):
        oauth.disconnect(connection)
    else:
        connection.credentials = {}
        connection.status = Connection.Status.DISCONNECTED
        connection.save(update_fields=["credentials", "status"])
    AuditEntry.record(
        request.partner, "connection.disconnected", actor=request.user, target=str(connection)
    )
    messages.success(request, f"{connection} is disconnected. Its invoices and customers stay.")
    return redirect("dashboard:connection", connection_id=connection.pk)


# -- one connection ---------------------------------------------------------------


@member_required()
def connection(request: HttpRequest, connection_id: int) -> HttpResponse:
    """Show a connection; its managers change its role here."""
    obj = partner_connection(request, connection_id)
    form = RoleForm(obj, request.POST or None)
    if request.method == "POST":
        if not request.membership.can_manage():
            return render(request, "dashboard/forbidden.html", status=403)
        if form.is_valid():
            previous, obj.role = obj.role, form.cleaned_data["role"]
            try:
                obj.save(update_fields=["role"])
            except IntegrityError:
                # Another person gave that role away at the same moment.
                obj.role = previous
                form.add_error("role", "Another connection has just taken that role.")
            else:
                AuditEntry.record(
                    request.partner,
                    "connection.role_changed",
                    actor=request.user,
                    target=str(obj),
                    role=obj.role,
                )
                role = obj.get_role_display() or "without a role"
                messages.success(request, f"{obj} is now {role}.")
                return redirect("dashboard:connection", connection_id=obj.pk)
    ctx = {
        "page": "connections",
        "connection": obj,
        "form": form,
        "has_preferences": has_preferences(obj),
        "can_reconnect": oauth.is_oauth(obj.kind),
        "takes_files": getattr(registry.capabilities(obj.kind), "files", False),
    }
    return render(request, "dashboard/connection.html", ctx, status=400 if form.errors else 200)


def has_preferences(connection: Connection) -> bool:
    """Return True if the connection's connector has preferences a person sets."""
    try:
        schema = getattr(registry.load(connection.kind), "Preferences", None)
    except (ImportError, LookupError):
        return False
    return schema is not None and bool(schema.model_fields)


@member_required(Membership.can_manage)
def preferences(request: HttpRequest, connection_id: int) -> HttpResponse:
    """Set a connection's preferences: a form drawn from its connector's Preferences model."""
    obj = partner_connection(request, connection_id)
    if not has_preferences(obj):
        raise Http404("This connection has no preferences.")
    connector_class = registry.load(obj.kind)
    schema = connector_class.Preferences
    accounts, problem = (), ""
    if any("accounts" in (f.json_schema_extra or {}) for f in schema.model_fields.values()):
        if not obj.is_active:
            problem = f"Connect {obj} to choose its accounts."
        else:
            try:
                with http_client() as http:
                    accounts = build_connector(obj, http).accounts()
            except ConnectorError as e:
                problem = f"Could not read the accounts from {obj}: {e}"
    form = None
    if not problem:
        form = SchemaForm(schema, request.POST or None, accounts=accounts, initial=obj.preferences)
        posted = request.method == "POST" and form.is_valid()
        if posted and (saved := save_preferences(request, obj, form)):
            return saved
    ctx = {
        "page": "connections",
        "connection": obj,
        "form": form,
        "problem": problem,
        "accounting": connector_class.capabilities.category == "accounting",
    }
    status = 400 if form is not None and form.errors else 200
    return render(request, "dashboard/preferences.html", ctx, status=status)


# -- invoice PDFs -----------------------------------------------------------------


@member_required()
def invoice_pdf(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Serve the invoice as its source system renders it."""
    invoice = get_object_or_404(Invoice.objects.for_partner(request.partner), pk=invoice_id)
    ref = native_pdf_ref(invoice)
    if ref is None:
        raise Http404("No connected system renders this invoice.")
    try:
        path = cached_pdf(ref)
    except ConnectorError as e:
        logger.warning("Fetching the PDF of invoice %s failed: %s", invoice.pk, e)
        messages.error(request, f"{ref.connection} did not send the PDF: {e}")
        return redirect("dashboard:invoice", invoice_id=invoice.pk)
    return FileResponse(
        path.open("rb"),
        content_type="application/pdf",
        filename=f"Invoice {safe(invoice.number)}.pdf",
    )
