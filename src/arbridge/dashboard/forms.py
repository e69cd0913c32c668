from django import forms
from django.core.files.uploadedfile import UploadedFile

from arbridge.core.models import ApiKey, Connection, Partner
from arbridge.ledger.models import Invoice

MAX_LOGO_BYTES = 1024 * 1024


class InvoiceSearchForm(forms.Form):
    OVERDUE = "overdue"

    q = forms.CharField(required=False, max_length=100)
    status = forms.ChoiceField(
        required=False,
        choices=[("", "All statuses"), *Invoice.Status.choices, (OVERDUE, "Overdue")],
    )


class CustomerSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=100)
    archived = forms.ChoiceField(
        required=False,
        choices=[("", "Active"), ("archived", "Archived"), ("all", "Active and archived")],
    )


class ExceptionFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False,
        choices=[("open", "Open"), ("resolved", "Resolved"), ("all", "All")],
    )


class SyncRunFilterForm(forms.Form):
    connection = forms.ModelChoiceField(
        queryset=Connection.objects.none(), required=False, empty_label="All connections"
    )

    def __init__(self, partner: Partner, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only the partner's own connections are valid choices.
        self.fields["connection"].queryset = Connection.objects.for_partner(partner)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100)
    scope = forms.ChoiceField(
        choices=ApiKey.Scope.choices,
        initial=ApiKey.Scope.READ,
        widget=forms.RadioSelect,
        help_text="A read-only key cannot change anything.",
    )


class ColourInput(forms.TextInput):
    input_type = "color"


class BrandingForm(forms.ModelForm):
    class Meta:
        model = Partner
        fields = ["display_name", "primary_colour", "accent_colour", "support_email", "logo"]
        widgets = {"primary_colour": ColourInput, "accent_colour": ColourInput}
        help_texts = {
            "display_name": "The name your customers see in the payment portal.",
            "support_email": "Where your customers reply with questions about an invoice.",
        }

    def clean_logo(self):
        logo = self.cleaned_data["logo"]
        # Only a new upload needs checking; the saved file was accepted before.
        if isinstance(logo, UploadedFile) and logo.size > MAX_LOGO_BYTES:
            raise forms.ValidationError("The logo must be 1 MB or smaller.")
        return logo
