"""The collections forms: templates checked by compiling them, notes, promises, pauses, settings."""

from django import forms
from django.template import Template, TemplateSyntaxError

from arbridge.collections.models import CollectionsSettings, Note, Sequence, Step

# Offsets a step may take: up to a quarter before the due date and a year after it.
MIN_OFFSET, MAX_OFFSET = -90, 365


def check_template(text: str) -> str:
    """Return the text if it compiles as a Django template; raise ValidationError otherwise."""
    try:
        Template(text)
    except TemplateSyntaxError as e:
        raise forms.ValidationError(f"The template does not compile: {e}") from None
    return text


class StepForm(forms.ModelForm):
    offset_days = forms.IntegerField(
        min_value=MIN_OFFSET,
        max_value=MAX_OFFSET,
        label="Days from the due date",
        help_text="Negative before the due date: -3 is three days before, 0 the due date.",
    )

    class Meta:
        model = Step
        fields = ["offset_days", "subject_template", "body_template", "is_final"]
        labels = {
            "subject_template": "Subject",
            "body_template": "Body",
            "is_final": "Final notice",
        }
        widgets = {"body_template": forms.Textarea(attrs={"rows": 18, "cols": 90})}

    def clean_subject_template(self) -> str:
        return check_template(self.cleaned_data["subject_template"])

    def clean_body_template(self) -> str:
        return check_template(self.cleaned_data["body_template"])

    def clean_offset_days(self) -> int:
        offset = self.cleaned_data["offset_days"]
        others = Step.objects.filter(sequence_id=self.instance.sequence_id, offset_days=offset)
        if others.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("This sequence already has a step on that day.")
        return offset


class NewStepForm(forms.Form):
    offset_days = forms.IntegerField(
        min_value=MIN_OFFSET, max_value=MAX_OFFSET, label="Days from the due date"
    )


class SequenceForm(forms.ModelForm):
    class Meta:
        model = Sequence
        fields = ["name"]


class CustomerSequenceForm(forms.Form):
    sequence = forms.ModelChoiceField(
        queryset=Sequence.objects.none(),
        required=False,
        empty_label="The default sequence",
        label="Reminder sequence",
    )

    def __init__(self, partner, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sequence"].queryset = Sequence.objects.for_partner(partner)


class NoteForm(forms.ModelForm):
    class Meta:
        model = Note
        fields = ["text", "promised_amount", "promised_date"]
        labels = {
            "text": "Note",
            "promised_amount": "Promised amount",
            "promised_date": "Promised to pay by",
        }
        widgets = {
            "text": forms.Textarea(attrs={"rows": 3}),
            "promised_date": forms.DateInput(attrs={"type": "date"}),
        }

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("text") and not data.get("promised_date"):
            raise forms.ValidationError("Write a note, or the date a payment was promised.")
        if data.get("promised_amount") is not None and not data.get("promised_date"):
            self.add_error("promised_date", "A promise needs the date it is due.")
        if data.get("promised_amount") is not None and data["promised_amount"] <= 0:
            self.add_error("promised_amount", "A promised amount is more than zero.")
        return data


class PauseForm(forms.Form):
    reason = forms.CharField(max_length=255, required=False)


class CollectionsSettingsForm(forms.ModelForm):
    statement_day = forms.IntegerField(
        min_value=0,
        max_value=28,
        label="Monthly statement day",
        help_text="Day of the month (1-28) statements go to customers with open invoices; "
        "0 sends none.",
    )

    class Meta:
        model = CollectionsSettings
        fields = ["reminders_enabled", "statement_day"]
        labels = {"reminders_enabled": "Send payment reminders"}
