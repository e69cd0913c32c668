"""Forms of the integrations pages: a connection's role, and an accounting system's preferences."""

from collections.abc import Iterable

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from arbridge.core.models import AuditEntry
from arbridge.integrations.models import Connection

BANK_NOTE = (
    "We recommend selecting the same bank account that is connected to arbridge for payouts."
)
# QuickBooks' account types offered for each choice.
# Reference: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/account
BANK_TYPES = ("Bank",)
FEE_TYPES = ("Expense", "Other Expense")
INCOME_TYPES = ("Income", "Other Income")
ACCOUNT_FIELDS = ("deposit_account_id", "fee_account_id", "surcharge_income_account_id")


class RoleForm(forms.Form):
    role = forms.ChoiceField(
        required=False,
        choices=[("", "No role"), *Connection.Role.choices],
        help_text="A partner has at most one primary, one secondary and one tertiary "
        "connection. An invoice number found in two connections is one invoice.",
    )

    def __init__(self, connection: Connection, *args, **kwargs) -> None:
        kwargs.setdefault("initial", {"role": connection.role or ""})
        super().__init__(*args, **kwargs)
        self.connection = connection

    def clean_role(self) -> str | None:
        role = self.cleaned_data["role"] or None
        holder = (
            Connection.objects.for_partner(self.connection.partner_id)
            .filter(role=role)
            .exclude(pk=self.connection.pk)
            .first()
        )
        if role is not None and holder is not None:
            raise forms.ValidationError(
                f"{holder} is already your {role} connection. Give it another role first."
            )
        return role


def account_choices(accounts: Iterable, types: tuple[str, ...]) -> list[tuple[str, str]]:
    """Return the accounts of the given types as choices, after a blank one."""
    return [("", "—")] + [(a.id, a.name) for a in accounts if a.type in types]


class PreferencesForm(forms.Form):
    """An accounting system's preferences, its accounts offered as dropdowns."""

    deposit_account_id = forms.ChoiceField(
        required=False, label="Bank account for deposits", help_text=BANK_NOTE
    )
    create_deposits = forms.BooleanField(
        required=False,
        label="Create Deposits",
        help_text="Record each payout as a deposit into the bank account above, moving its "
        "payments out of Undeposited Funds. Off by default: leave it off to reconcile "
        "deposits by hand against your bank feed.",
    )
    fee_account_id = forms.ChoiceField(
        required=False,
        label="Processing fee account",
        help_text="Where each payout's processing fees are booked, as a negative deposit line.",
    )
    surcharge_income_account_id = forms.ChoiceField(
        required=False, label="Surcharge income account"
    )

    def __init__(self, accounts: list, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["deposit_account_id"].choices = account_choices(accounts, BANK_TYPES)
        self.fields["fee_account_id"].choices = account_choices(accounts, FEE_TYPES)
        self.fields["surcharge_income_account_id"].choices = account_choices(accounts, INCOME_TYPES)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("create_deposits"):
            if not data.get("deposit_account_id"):
                self.add_error("deposit_account_id", "Choose the bank account deposits go to.")
            if not data.get("fee_account_id"):
                self.add_error("fee_account_id", "Choose the account processing fees go to.")
        # A blank choice is "none chosen", which the preferences hold as null.
        for name in ACCOUNT_FIELDS:
            if name in data:
                data[name] = data[name] or None
        return data


def save_preferences(
    request: HttpRequest, connection: Connection, form: forms.Form
) -> HttpResponse | None:
    """Save a bound, valid preferences form; return the redirect, or None with the form's error."""
    try:
        connection.set_preferences(form.cleaned_data)
    except ValueError as e:
        form.add_error(None, str(e))
        return None
    AuditEntry.record(
        request.partner,
        "connection.preferences_changed",
        actor=request.user,
        target=str(connection),
        fields=form.changed_data,
    )
    messages.success(request, f"Preferences of {connection} saved.")
    return redirect("dashboard:connection", connection_id=connection.pk)


def connected(request: HttpRequest, connection: Connection, **detail) -> HttpResponse:
    """Record that the person connected the system, tell them, and show the connection."""
    AuditEntry.record(
        request.partner,
        "connection.connected",
        actor=request.user,
        target=str(connection),
        **detail,
    )
    messages.success(
        request, f"{connection} is connected. Its invoices appear as the first sync runs."
    )
    return redirect("dashboard:connection", connection_id=connection.pk)
