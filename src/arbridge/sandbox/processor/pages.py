"""The sandbox processor's own pages: the hosted tokenization form and the authentication step.

Plain HTML with no scripts, so a browser test fills them in like a person.
Card and account numbers are typed here, on the processor's page, and never
reach the merchant: the form answers with a token only. A form that comes
back with an error does not show the numbers again.
"""

from __future__ import annotations

from html import escape

from arbridge.sandbox.processor import numbers
from arbridge.sandbox.processor.records import Payment

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 28rem; margin: 3rem auto; color: #222; }
label { display: block; margin: .8rem 0 .2rem; }
input[type=text] { width: 100%; padding: .5rem; font-size: 1rem; box-sizing: border-box; }
.error { color: #a00; background: #fee; padding: .5rem; }
.note { color: #666; font-size: .85rem; }
button { margin-top: 1rem; padding: .6rem 1.2rem; font-size: 1rem; }
"""


def page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def field(name: str, label: str, value: str = "", **attributes: str) -> str:
    extra = "".join(f' {key}="{escape(value)}"' for key, value in attributes.items())
    return (
        f'<label for="{name}">{escape(label)}</label>'
        f'<input type="text" id="{name}" name="{name}" value="{escape(value)}"{extra}>'
    )


def tokenize_form(
    merchant: str, kind: str, return_url: str, form: dict[str, str], error: str = ""
) -> str:
    """Return the form for a card or a bank account, with an error to correct if any."""
    keep = f'<input type="hidden" name="kind" value="{escape(kind)}">' + (
        f'<input type="hidden" name="return_url" value="{escape(return_url)}">'
    )
    shown = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    if kind == "card":
        title = "Pay by card"
        fields = (
            field("number", "Card number", autocomplete="cc-number", inputmode="numeric")
            + field("expiry", "Expiry (MM/YY)", form.get("expiry", ""), autocomplete="cc-exp")
            + field("cvc", "Security code", autocomplete="cc-csc", inputmode="numeric")
            + field("postal_code", "ZIP code", form.get("postal_code", ""))
            + '<p class="note">Test cards: 4242 4242 4242 4242 succeeds; '
            "4000 0025 0000 3155 asks you to authenticate; 4000 0000 0000 9995 is declined.</p>"
        )
    else:
        title = "Pay by bank account (ACH)"
        checked = " checked" if form.get("mandate") else ""
        fields = (
            field("account_holder_name", "Account holder", form.get("account_holder_name", ""))
            + field("routing_number", "Routing number", inputmode="numeric")
            + field("account_number", "Account number", inputmode="numeric")
            + f'<label><input type="checkbox" name="mandate" value="accepted"{checked}> '
            f"I authorize {escape(merchant)} to debit this account for the amounts I "
            "approve, and to debit or credit it to correct errors.</label>"
            f'<p class="note">Test routing number {numbers.TEST_ROUTING_NUMBER}; '
            "account 000123456789 settles, 000111111101 comes back R01.</p>"
        )
    body = (
        f'{shown}<form method="post">{keep}{fields}<button type="submit">Continue</button></form>'
    )
    return page(title, f"<p>For {escape(merchant)}</p>{body}")


def authentication(payment: Payment, merchant: str) -> str:
    """Return the bank's authentication step: Approve or Fail, or what was decided."""
    amount = f"{payment.amount} {payment.currency}"
    if payment.status != "requires_action":
        return page("Authentication", f"<p>This payment is {escape(payment.status)}.</p>")
    body = (
        f"<p>{escape(merchant)} asks to charge {escape(amount)} to the card ending "
        f"{escape(payment.method.last4)}.</p>"
        '<form method="post"><button name="decision" value="approve">Approve</button> '
        '<button name="decision" value="fail">Fail</button></form>'
    )
    return page("Authenticate this payment", body)
