"""Integrations > Preferences (external payments sync) and Integrations > Sync Invoices.

The Sync Tool's pages read ConnectWise and QuickBooks Online as they load (the
invoices waiting, the items and accounts to choose from); a vendor that
cannot answer is said so on the page. The work is in
arbridge.integrations.sync_tool and arbridge.integrations.external_payments.
"""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from arbridge.connectors.base import ConnectorError
from arbridge.core import clock
from arbridge.core.access import member_required
from arbridge.core.models import AuditEntry, Membership
from arbridge.integrations import external_payments, sync_tool
from arbridge.integrations.models import IntegrationPreferences, MirroredPayment, SyncedInvoice

Mode = IntegrationPreferences.Mode
SYNCED_ONLY_WARNING = (
    "Synced Invoices Only mode requires that invoices were originally synced through the "
    "Alternative Sync Tool. Invoices created through other methods will not have their "
    "payments synced."
)
MODE_HELP = {
    Mode.DISABLED: "No external payments will be synced. Use this if you want to keep payment "
    "records separate between systems.",
    Mode.ALL: "Syncs external payments for all invoices that exist in both QuickBooks and "
    "ConnectWise. Use this for comprehensive payment tracking across all invoices.",
    Mode.SYNCED_ONLY: "Syncs external payments only for invoices that were previously synced "
    "using the Sync Tool. Use this for controlled synchronization of manually-selected invoices.",
}


# -- Integrations > Preferences ----------------------------------------------------


@member_required()
def preferences(request: HttpRequest) -> HttpResponse:
    """Show and switch "Enable external payments sync", with what it needs and what it skipped."""
    settings = IntegrationPreferences.for_partner_of(request.partner.pk)
    if request.method == "POST":
        if not request.membership.can_manage():
            return render(request, "dashboard/forbidden.html", status=403)
        enabled = request.POST.get("external_payments") == "on"
        try:
            external_payments.turn_on(settings, enabled)
        except ValueError:
            messages.error(
                request, "External payments sync needs both integrations connected and active."
            )
        else:
            AuditEntry.record(
                request.partner, "external_payments.switched", actor=request.user, enabled=enabled
            )
            messages.success(request, "Your preferences are saved.")
        return redirect("dashboard:integration_preferences")
    skipped = (
        MirroredPayment.objects.for_partner(request.partner)
        .filter(state=MirroredPayment.State.SKIPPED)
        .select_related("invoice", "payment")
    )[:200]
    ctx = {
        "page": "connections",
        "settings": settings,
        "missing": external_payments.missing_requirements(request.partner.pk),
        "stopped": external_payments.stopped_because(request.partner.pk),
        "skipped": skipped,
    }
    return render(request, "dashboard/sync_tool/preferences.html", ctx)


# -- Integrations > Sync Invoices --------------------------------------------------


@member_required()
def sync_invoices(request: HttpRequest) -> HttpResponse:
    """List the closed ConnectWise invoices QuickBooks does not hold yet, to choose from."""
    problem, waiting = "", []
    try:
        waiting = sync_tool.waiting_invoices(request.partner.pk)
    except sync_tool.SyncToolError as e:
        problem = str(e)
    except ConnectorError as e:
        problem = f"ConnectWise could not be read: {e}"
    synced = (
        SyncedInvoice.objects.for_partner(request.partner)
        .select_related("invoice", "command")
        .order_by("-synced_at")[:50]
    )
    ctx = {
        "page": "connections",
        "problem": problem,
        "waiting": waiting,
        "synced": synced,
        "settings": IntegrationPreferences.for_partner_of(request.partner.pk),
    }
    return render(request, "dashboard/sync_tool/sync_invoices.html", ctx)


@require_POST
@member_required(Membership.can_manage)
def sync_selected(request: HttpRequest) -> HttpResponse:
    """Sync the chosen invoices into QuickBooks Online."""
    chosen = request.POST.getlist("invoice")
    if not chosen:
        messages.error(request, "Choose at least one invoice to sync.")
        return redirect("dashboard:sync_invoices")
    try:
        outcomes = sync_tool.sync_invoices(request.partner.pk, chosen, request.user)
    except sync_tool.SyncToolError as e:
        messages.error(request, str(e))
        return redirect("dashboard:sync_invoices")
    except ConnectorError as e:
        messages.error(request, f"ConnectWise could not be read: {e}")
        return redirect("dashboard:sync_invoices")
    done = [outcome.number for outcome in outcomes if outcome.synced]
    if done:
        AuditEntry.record(request.partner, "sync_tool.synced", actor=request.user, invoices=done)
        messages.success(request, f"Syncing to QuickBooks Online: {', '.join(done)}.")
    for outcome in outcomes:
        if outcome.problem:
            messages.error(request, f"Invoice {outcome.number}: {outcome.problem}")
    return redirect("dashboard:sync_invoices")


class ToolPreferencesForm(forms.Form):
    item = forms.ChoiceField(label="QuickBooks item for invoice lines")
    income_account = forms.ChoiceField(label="Income account", required=False)
    sync_mode = forms.ChoiceField(
        label="Sync mode", choices=Mode.choices, widget=forms.RadioSelect, required=False
    )

    def __init__(self, *args, items=(), accounts=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [
            (item.id, f"{item.name} ({item.income_account_name or 'its own account'})")
            for item in items
        ]
        self.fields["income_account"].choices = [("", "The item's own income account")] + [
            (account.id, account.name) for account in accounts
        ]


@member_required()
def tool_preferences(request: HttpRequest) -> HttpResponse:
    """Choose the Sync Tool's item and income account, and (once in use) the sync mode."""
    settings = IntegrationPreferences.for_partner_of(request.partner.pk)
    problem, items, accounts = "", [], []
    try:
        items, accounts = sync_tool.choices(request.partner.pk)
    except sync_tool.SyncToolError as e:
        problem = str(e)
    except ConnectorError as e:
        problem = f"QuickBooks Online could not be read: {e}"
    initial = {
        "item": settings.sync_tool_item_id,
        "income_account": settings.sync_tool_income_account_id,
        "sync_mode": settings.sync_mode,
    }
    form = ToolPreferencesForm(
        request.POST or None, initial=initial, items=items, accounts=accounts
    )
    if request.method == "POST" and not problem:
        if not request.membership.can_manage():
            return render(request, "dashboard/forbidden.html", status=403)
        if form.is_valid():
            settings.sync_tool_item_id = form.cleaned_data["item"]
            settings.sync_tool_income_account_id = form.cleaned_data["income_account"]
            if settings.sync_tool_in_use and form.cleaned_data["sync_mode"]:
                settings.sync_mode = form.cleaned_data["sync_mode"]
            settings.sync_tool_in_use, settings.updated_at = True, clock.now()
            settings.save()
            AuditEntry.record(
                request.partner,
                "sync_tool.preferences",
                actor=request.user,
                item=settings.sync_tool_item_id,
                income_account=settings.sync_tool_income_account_id,
                sync_mode=settings.sync_mode,
            )
            messages.success(request, "Your changes are saved.")
            return redirect("dashboard:sync_tool_preferences")
    ctx = {
        "page": "connections",
        "settings": settings,
        "form": form,
        "problem": problem,
        "modes": [(value, label, MODE_HELP[value]) for value, label in Mode.choices],
        "warning": SYNCED_ONLY_WARNING,
    }
    return render(request, "dashboard/sync_tool/tool_preferences.html", ctx)
