"""The portal's forms: asking for a sign-in link, choosing invoices and a method."""

from decimal import Decimal, InvalidOperation

from django import forms

from arbridge.core.money import quantize
from arbridge.ledger.models import Invoice


class SignInForm(forms.Form):
    email = forms.EmailField(label="Billing email address", max_length=254)

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class PaymentSelectionError(ValueError):
    """The customer's choice of invoices and amounts cannot be paid; the message says why."""


def chosen_amounts(data, invoices: list[Invoice]) -> dict[Invoice, Decimal]:
    """Read the ticked invoices and the amount typed for each from the invoices page.

    Only the visitor's own payable invoices (`invoices`, as `open_invoices`
    returns them) can be chosen; an id that is not among them is ignored. An
    amount left empty is the invoice's whole payable amount.
    """
    by_id = {str(invoice.pk): invoice for invoice in invoices}
    amounts = {}
    for invoice_id in data.getlist("invoice"):
        invoice = by_id.get(invoice_id)
        if invoice is None or invoice in amounts:
            continue
        raw = (data.get(f"amount_{invoice_id}") or "").replace(",", "").strip()
        try:
            amount = quantize(Decimal(raw or invoice.to_pay), invoice.currency)
        except (InvalidOperation, ValueError):
            raise PaymentSelectionError(
                f"Enter the amount to pay on invoice {invoice.number} as a number, like 125.50."
            ) from None
        if amount <= 0:
            raise PaymentSelectionError(
                f"The amount for invoice {invoice.number} must be positive."
            )
        amounts[invoice] = amount
    if not amounts:
        raise PaymentSelectionError("Choose at least one invoice to pay.")
    return amounts
