"""The PSA pages: connect HaloPSA, ConnectWise PSA or Autotask; the differences page.

A PSA is connected with credentials its admin creates in the PSA (an API
application, an API member, an API user), typed into a form here. The work
of checking and storing them is in arbridge.integrations.psa. The
differences page is the product document's table, drawn from every
registered connector's Capabilities: nothing in it is written by hand.
"""

from dataclasses import dataclass

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from arbridge.connectors.base import Capabilities, Frequency, Item
from arbridge.core.models import Membership
from arbridge.dashboard.decorators import member_required
from arbridge.dashboard.integration_forms import connected, save_preferences
from arbridge.integrations import psa, registry
from arbridge.integrations.models import Connection

# -- forms ------------------------------------------------------------------------


class PsaForm(forms.Form):
    """What every PSA connection asks: its role among the partner's connections."""

    role = forms.ChoiceField(
        required=False,
        choices=[("", "No role"), *Connection.Role.choices],
        help_text="A typical MSP bills from its PSA (primary) and keeps the books in "
        "QuickBooks Online (secondary). An invoice number found in both is one invoice.",
    )

    def __init__(self, partner, connection: Connection | None, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.partner, self.connection = partner, connection

    def clean_role(self) -> str | None:
        role = self.cleaned_data["role"] or None
        holders = Connection.objects.for_partner(self.partner).filter(role=role)
        if self.connection is not None:
            holders = holders.exclude(pk=self.connection.pk)
        if role is not None and (holder := holders.first()) is not None:
            raise forms.ValidationError(
                f"{holder} is already your {role} connection. Give it another role first."
            )
        return role

    def credentials(self) -> tuple[dict, str]:
        """Return the credentials to store and the vendor's account id."""
        raise NotImplementedError


class HaloPSAForm(PsaForm):
    base_url = forms.URLField(
        assume_scheme="https",
        label="HaloPSA URL",
        help_text="Your instance's address, e.g. https://acme.halopsa.com",
    )
    tenant = forms.CharField(
        required=False, help_text="Only for hosted HaloPSA: the tenant name Halo gave you."
    )
    client_id = forms.CharField(label="Client ID")
    client_secret = forms.CharField(label="Client secret", widget=forms.PasswordInput)
    webhook_auth = forms.ChoiceField(
        label="Webhook authentication",
        required=False,
        choices=[("", "No webhook"), ("basic", "Basic"), ("header", "Secret header")],
        help_text="As set up in HaloPSA, Configuration > Integrations > Webhooks. Every "
        "delivery is checked against it.",
    )
    webhook_username = forms.CharField(required=False, label="Basic username")
    webhook_password = forms.CharField(
        required=False, label="Basic password", widget=forms.PasswordInput
    )
    webhook_header = forms.CharField(required=False, label="Header name")
    webhook_value = forms.CharField(
        required=False, label="Header value", widget=forms.PasswordInput
    )

    def clean(self) -> dict:
        data = super().clean()
        kind = data.get("webhook_auth")
        if kind == "basic" and not (data.get("webhook_username") and data.get("webhook_password")):
            self.add_error("webhook_password", "Basic needs a username and a password.")
        if kind == "header" and not (data.get("webhook_header") and data.get("webhook_value")):
            self.add_error("webhook_value", "A secret header needs its name and value.")
        return data

    def credentials(self) -> tuple[dict, str]:
        data = self.cleaned_data
        credentials = {
            "base_url": data["base_url"].rstrip("/"),
            "client_id": data["client_id"],
            "client_secret": data["client_secret"],
        }
        if data["webhook_auth"] == "basic":
            credentials["webhook_auth"] = {
                "kind": "basic",
                "username": data["webhook_username"],
                "password": data["webhook_password"],
            }
        elif data["webhook_auth"] == "header":
            credentials["webhook_auth"] = {
                "kind": "header",
                "header": data["webhook_header"],
                "value": data["webhook_value"],
            }
        return credentials, data["tenant"]


class HaloPreferencesForm(forms.Form):
    """A HaloPSA connection's preferences: which agreement types' invoices sync."""

    agreement_subtypes = forms.CharField(
        required=False,
        label="Agreement types that sync",
        help_text="Names of HaloPSA agreement types (Configuration > Billing > Contract "
        "Types), separated by commas, e.g. Managed Services, Project. Only their invoices "
        "enter arbridge. Leave empty to sync every invoice.",
    )

    def __init__(self, *args, initial: dict | None = None, **kwargs) -> None:
        initial = dict(initial or {})
        initial["agreement_subtypes"] = ", ".join(initial.get("agreement_subtypes") or [])
        super().__init__(*args, initial=initial, **kwargs)

    def clean_agreement_subtypes(self) -> list[str]:
        # One name typed twice, in any case, is one type: the connector compares casefolded.
        unique: dict[str, str] = {}
        for name in self.cleaned_data["agreement_subtypes"].split(","):
            if name.strip():
                unique.setdefault(name.strip().casefold(), name.strip())
        return list(unique.values())


class ConnectWiseForm(PsaForm):
    base_url = forms.URLField(
        assume_scheme="https",
        label="Site URL",
        help_text="na.myconnectwise.net for the cloud, or your own server's address.",
    )
    company = forms.CharField(label="Company ID", help_text="The company you sign in with.")
    public_key = forms.CharField(label="Public key")
    private_key = forms.CharField(label="Private key", widget=forms.PasswordInput)
    client_id = forms.CharField(
        label="Client ID", help_text="From developer.connectwise.com, Client ID."
    )

    def credentials(self) -> tuple[dict, str]:
        data = self.cleaned_data
        credentials = {
            "base_url": data["base_url"].rstrip("/"),
            "public_key": data["public_key"],
            "private_key": data["private_key"],
            "client_id": data["client_id"],
        }
        return credentials, data["company"]


class AutotaskForm(PsaForm):
    username = forms.CharField(label="API username", help_text="An API-only user's username.")
    secret = forms.CharField(label="Secret", widget=forms.PasswordInput)
    integration_code = forms.CharField(label="Tracking identifier (integration code)")

    def credentials(self) -> tuple[dict, str]:
        data = self.cleaned_data
        credentials = {
            "username": data["username"],
            "secret": data["secret"],
            "integration_code": data["integration_code"],
        }
        return credentials, ""


FORMS: dict[str, type[PsaForm]] = {
    "halopsa": HaloPSAForm,
    "connectwise": ConnectWiseForm,
    "autotask": AutotaskForm,
}


# -- connecting -------------------------------------------------------------------


@member_required(Membership.can_manage)
def connect(request: HttpRequest, kind: str) -> HttpResponse:
    """Connect the partner's PSA of this kind with credentials a test call accepts."""
    if kind not in FORMS:
        raise Http404("No such PSA.")
    connection = (
        Connection.objects.for_partner(request.partner).filter(kind=kind).order_by("pk").first()
    )
    initial = {"role": connection.role or ""} if connection else {}
    form = FORMS[kind](request.partner, connection, request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        credentials, remote_account = form.credentials()
        if connection is None:
            connection = Connection(partner=request.partner, kind=kind)
        connection.role = form.cleaned_data["role"]
        try:
            psa.connect(connection, credentials, remote_account)
        except psa.ConnectError as e:
            form.add_error(None, str(e))
        else:
            return connected(request, connection, role=connection.role)
    ctx = {
        "page": "connections",
        "form": form,
        "kind": kind,
        "name": registry.display_name(kind),
        "webhook_url": webhook_url(request, connection),
    }
    return render(request, "dashboard/psa_connect.html", ctx, status=400 if form.errors else 200)


def preferences(request: HttpRequest, connection: Connection) -> HttpResponse:
    """Choose which HaloPSA agreement types' invoices sync; the caller checked the person."""
    form = HaloPreferencesForm(request.POST or None, initial=connection.preferences)
    posted = request.method == "POST" and form.is_valid()
    if posted and (saved := save_preferences(request, connection, form)):
        return saved
    ctx = {"page": "connections", "connection": connection, "form": form}
    status = 400 if form.errors else 200
    return render(request, "dashboard/psa_preferences.html", ctx, status=status)


def webhook_url(request: HttpRequest, connection: Connection | None) -> str:
    """Return where the connection's HaloPSA webhook posts, once it exists."""
    if connection is None or connection.kind != "halopsa" or connection.pk is None:
        return ""
    return request.build_absolute_uri(reverse("halopsa_webhook", args=[connection.pk]))


# -- the differences page ---------------------------------------------------------

LABELS = {
    Frequency.REAL_TIME: "Real Time",
    Frequency.HOURLY: "Hourly",
    Frequency.DAILY: "Daily",
    Frequency.NONE: "—",
}


@dataclass(frozen=True)
class Column:
    """One integration's column of the table."""

    kind: str
    name: str
    capabilities: Capabilities | None  # None: not yet available

    def frequency(self, item: Item) -> str:
        """Return how often the item syncs, both ways when an old version syncs it slower."""
        if self.capabilities is None:
            return ""
        usual = self.capabilities.frequency(item)
        slower = self.capabilities.fallback_frequencies.get(item)
        if slower is not None and slower != usual:
            return f"{LABELS[slower]}/{LABELS[usual]}*"
        return LABELS[usual]

    @property
    def version_note(self) -> str:
        if self.capabilities is None or not self.capabilities.min_version_for_real_time:
            return ""
        return (
            f"* {LABELS[Frequency.REAL_TIME]} from {self.name} "
            f"{self.capabilities.min_version_for_real_time}; hourly before it."
        )


def columns() -> list[Column]:
    result = []
    for kind in registry.all_kinds():
        try:
            capabilities = registry.load(kind).capabilities
        except (ImportError, LookupError):
            capabilities = None
        result.append(Column(kind, registry.display_name(kind), capabilities))
    return result


@member_required()
def differences(request: HttpRequest) -> HttpResponse:
    """Show what each integration syncs and how often, from the connectors themselves."""
    cols = columns()
    rows = [(item.value, [c.frequency(item) for c in cols]) for item in Item]
    ctx = {
        "page": "connections",
        "columns": cols,
        "rows": rows,
        "notes": [c.version_note for c in cols if c.version_note],
    }
    return render(request, "dashboard/psa_differences.html", ctx)
