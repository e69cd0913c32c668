"""Forms of the integrations pages, drawn from the connectors' own pydantic models.

A credentials kind's connect form is its `Credentials` model's fields (and the
connection's role); every kind's preferences form is its `Preferences`
model's, accounts offered from its chart where a field says so.
"""

from collections.abc import Iterable, Sequence
from typing import Literal, get_args, get_origin

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from pydantic import BaseModel, SecretStr, ValidationError

from arbridge.connectors.base import Account
from arbridge.core.models import AuditEntry, Connection


def RoleField() -> forms.ChoiceField:  # noqa: N802 - a field, named as Django's are
    return forms.ChoiceField(
        required=False,
        choices=[("", "No role"), *Connection.Role.choices],
        help_text="A partner has at most one primary, one secondary and one tertiary "
        "connection. An invoice number found in two connections is one invoice.",
    )


def check_role(partner, connection: Connection | None, role: str | None) -> str | None:
    """Return the role if no other connection of the partner holds it."""
    holders = Connection.objects.for_partner(partner).filter(role=role)
    if connection is not None and connection.pk is not None:
        holders = holders.exclude(pk=connection.pk)
    if role is not None and (holder := holders.first()) is not None:
        raise forms.ValidationError(
            f"{holder} is already your {role} connection. Give it another role first."
        )
    return role


class RoleForm(forms.Form):
    role = RoleField()

    def __init__(self, connection: Connection, *args, **kwargs) -> None:
        kwargs.setdefault("initial", {"role": connection.role or ""})
        super().__init__(*args, **kwargs)
        self.connection = connection

    def clean_role(self) -> str | None:
        return check_role(
            self.connection.partner_id, self.connection, self.cleaned_data["role"] or None
        )


def model_fields(
    model: type[BaseModel], accounts: Sequence[Account] = ()
) -> dict[str, forms.Field]:
    """Return one form field per field of a connector's pydantic model.

    str is a text field, SecretStr a password field, bool a checkbox, a
    Literal a choice, a list of str text separated by commas, and a field with
    `account_field` metadata a choice of the accounts of its types.
    """
    fields: dict[str, forms.Field] = {}
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        common = {
            "label": info.title or name.replace("_", " ").capitalize(),
            "help_text": info.description or "",
            "required": info.is_required(),
        }
        annotation = info.annotation
        if "accounts" in extra:
            fields[name] = forms.ChoiceField(
                choices=account_choices(accounts, extra["accounts"], extra.get("key", "id")),
                **{**common, "required": False},
            )
        elif annotation is bool:
            fields[name] = forms.BooleanField(**{**common, "required": False})
        elif annotation is SecretStr:
            fields[name] = forms.CharField(widget=forms.PasswordInput, **common)
        elif get_origin(annotation) is Literal:
            values = get_args(annotation)
            labels = extra.get("labels") or [str(v) for v in values]
            fields[name] = forms.ChoiceField(
                choices=list(zip(values, labels, strict=True)), **common
            )
        elif get_origin(annotation) is list:
            fields[name] = forms.CharField(**{**common, "required": False})
        else:
            fields[name] = forms.CharField(**common)
    return fields


def account_choices(
    accounts: Iterable[Account], types: Sequence[str], key: str = "id"
) -> list[tuple[str, str]]:
    """Return the accounts of the given types (or subtypes) as choices, after a blank one."""
    return [("", "—")] + [
        (getattr(a, key), a.name) for a in accounts if a.type in types or a.subtype in types
    ]


class SchemaForm(forms.Form):
    """A form drawn from a connector's pydantic model, cleaned into it (`self.model`)."""

    schema: type[BaseModel]

    def __init__(self, schema: type[BaseModel], *args, accounts: Sequence[Account] = (), **kwargs):
        initial = dict(kwargs.pop("initial", None) or {})
        for name, info in schema.model_fields.items():
            if get_origin(info.annotation) is list and isinstance(initial.get(name), list):
                initial[name] = ", ".join(initial[name])
        super().__init__(*args, initial=initial, **kwargs)
        self.schema = schema
        self.model: BaseModel | None = None
        for name, field in model_fields(schema, accounts).items():
            self.fields[name] = field

    def clean(self) -> dict:
        data = super().clean()
        values = {name: data.get(name) for name in self.schema.model_fields if name in data}
        for name, info in self.schema.model_fields.items():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            if name in values and "accounts" in extra:
                values[name] = values[name] or None  # a blank choice is "none chosen"
            needed_by = extra.get("needed_by")
            if needed_by and values.get(needed_by) and not values.get(name):
                self.add_error(name, extra.get("missing") or "Choose one.")
        if self.errors:
            return data
        try:
            self.model = self.schema.model_validate(values)
        except ValidationError as e:
            for error in e.errors():
                cause = (error.get("ctx") or {}).get("error")
                field = getattr(cause, "field", None) or (error["loc"][0] if error["loc"] else None)
                message = str(cause) if cause is not None else error["msg"]
                self.add_error(field if field in self.fields else None, message)
        return data


class ConnectForm(SchemaForm):
    """A credentials kind's connect form: its credentials, and the connection's role."""

    def __init__(self, schema, partner, connection: Connection | None, *args, **kwargs) -> None:
        super().__init__(schema, *args, **kwargs)
        self.partner, self.connection = partner, connection
        self.fields = {"role": RoleField(), **self.fields}

    def clean_role(self) -> str | None:
        return check_role(self.partner, self.connection, self.cleaned_data["role"] or None)


def save_preferences(
    request: HttpRequest, connection: Connection, form: forms.Form
) -> HttpResponse | None:
    """Save a bound, valid preferences form; return the redirect, or None with the form's error."""
    try:
        connection.set_preferences(form.model.model_dump(mode="json"))
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
