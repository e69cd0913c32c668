"""Paying in the portal against the sandbox processor: card, ACH, declines, authentication.

The customer's browser is the Django test client on arbridge's pages and an
httpx client on the processor's own page, where the card number is typed.
"""

from decimal import Decimal

import httpx
import pytest
from django.urls import reverse

from arbridge.ledger.models import Invoice, Payment
from arbridge.payments.models import Checkout, PaymentSettings, SavedMethod
from tests.portal.fixtures import enter_method, local

pytest_plugins = ["tests.payments.fixtures", "tests.portal.fixtures"]

VISA = "4242424242424242"
VISA_DEBIT = "4000056655665556"
INSUFFICIENT_FUNDS = "4000000000009995"
NEEDS_AUTHENTICATION = "4000002500003155"
SETTLING_ACCOUNT = "000123456789"


@pytest.fixture(autouse=True)
def collecting(processor, inbox):
    """Every test here collects through the sandbox processor and sends real email."""


def choose(portal, partner, amounts: dict[Invoice, str]) -> Checkout:
    """Tick invoices on the invoices page and type an amount for each; return the checkout."""
    data = {"invoice": [str(invoice.pk) for invoice in amounts]}
    data |= {f"amount_{invoice.pk}": amount for invoice, amount in amounts.items()}
    response = portal.post(reverse("portal:start_checkout", args=[partner.slug]), data)
    assert response.status_code == 302, response.content.decode()
    checkout = Checkout.objects.get(customer__portal_links__isnull=False, status="open")
    assert response["Location"] == reverse("portal:checkout", args=[partner.slug, checkout.key])
    return checkout


def enter(portal, partner, checkout: Checkout, kind: str, number: str) -> str:
    """Choose card or ACH, type the number at the processor, and come back; return the page."""
    url = reverse("portal:checkout", args=[partner.slug, checkout.key])
    response = portal.post(url, {"method": kind})
    assert response.status_code == 302
    back = enter_method(response["Location"], number)
    response = portal.get(local(back))
    review = reverse("portal:review", args=[partner.slug, checkout.key])
    assert response["Location"] == review
    return portal.get(review).content.decode()


def pay(portal, partner, checkout: Checkout, **fields):
    return portal.post(reverse("portal:pay", args=[partner.slug, checkout.key]), fields)


def test_paying_two_invoices_one_in_part_by_card(portal, partner, overdue, current, inbox):
    checkout = choose(portal, partner, {overdue: "500.00", current: "450.00"})

    review = enter(portal, partner, checkout, "card", VISA)
    assert "Visa ending 4242" in review
    assert "950.00 USD" in review

    response = pay(portal, partner, checkout, receipt_email="hank@globex.example")

    receipt_url = reverse("portal:receipt", args=[partner.slug, checkout.key])
    assert response["Location"] == receipt_url
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.SUCCEEDED
    overdue.refresh_from_db(), current.refresh_from_db()
    assert overdue.balance == Decimal("1000.00") and current.balance == 0
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.SUCCEEDED and payment.amount == Decimal("950.00")

    page = portal.get(receipt_url).content.decode()
    assert "Thank you for your payment" in page
    assert "Visa ending 4242" in page
    assert checkout.processor_reference and checkout.processor_reference in page
    assert "INV-1001" in page and "500.00 USD" in page and "INV-1002" in page

    (message,) = inbox.to("hank@globex.example")
    body = message.get_content()
    assert "Invoice INV-1001: 500.00 USD" in body and "Invoice INV-1002: 450.00 USD" in body
    assert checkout.processor_reference in body
    assert VISA not in body


def test_pay_pressed_twice_charges_once_and_emails_once(
    portal, partner, overdue, inbox, processor, processor_sandbox
):
    checkout = choose(portal, partner, {overdue: "100.00"})
    enter(portal, partner, checkout, "card", VISA)

    first = pay(portal, partner, checkout)
    second = pay(portal, partner, checkout)

    assert first["Location"] == second["Location"]
    assert Payment.objects.count() == 1
    overdue.refresh_from_db()
    assert overdue.balance == Decimal("1400.00")
    assert len(inbox.messages) == 1
    account = processor_sandbox.store.accounts[processor.credentials["account_id"]]
    assert len(account.payments) == 1


def test_ach_is_pending_until_the_bank_settles_it(portal, partner, current, inbox):
    checkout = choose(portal, partner, {current: "450.00"})

    review = enter(portal, partner, checkout, "ach", SETTLING_ACCOUNT)
    assert "you authorize Acme IT to debit the account" in review

    response = pay(portal, partner, checkout)

    page = portal.get(response["Location"]).content.decode()
    assert "pending until your bank settles it" in page
    invoices = portal.get(reverse("portal:invoices", args=[partner.slug])).content.decode()
    assert "Payment pending" in invoices
    current.refresh_from_db()
    assert current.payable == 0
    (message,) = inbox.messages
    assert "pending until your bank settles it" in message.get_content()


def test_a_declined_card_goes_back_to_a_fresh_checkout(portal, partner, overdue, inbox):
    checkout = choose(portal, partner, {overdue: "300.00"})
    enter(portal, partner, checkout, "card", INSUFFICIENT_FUNDS)

    response = pay(portal, partner, checkout)

    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.FAILED
    fresh = Checkout.objects.exclude(pk=checkout.pk).get()
    assert response["Location"] == reverse("portal:checkout", args=[partner.slug, fresh.key])
    assert [(line.invoice, line.amount) for line in fresh.lines.all()] == [
        (overdue, Decimal("300.00"))
    ]
    page = portal.get(response["Location"]).content.decode()
    assert checkout.error_message and checkout.error_message in page
    overdue.refresh_from_db()
    assert overdue.balance == Decimal("1500.00") and overdue.payable == Decimal("1500.00")
    assert inbox.messages == []


def test_a_token_the_processor_does_not_know_is_asked_for_again(portal, partner, overdue):
    checkout = choose(portal, partner, {overdue: "300.00"})
    portal.post(reverse("portal:checkout", args=[partner.slug, checkout.key]), {"method": "card"})

    tokenized = reverse("portal:tokenized", args=[partner.slug, checkout.key])
    response = portal.post(tokenized, {"token": "tok_nobody"})

    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.OPEN and not checkout.method_token
    page = portal.get(response["Location"], follow=True).content.decode()
    assert "could not reach" not in page
    assert "No such payment method: tok_nobody" in page  # the processor's own words
    overdue.refresh_from_db()
    assert overdue.balance == Decimal("1500.00")


def test_a_card_that_needs_authentication_comes_back_to_the_receipt(portal, partner, overdue):
    checkout = choose(portal, partner, {overdue: "1500.00"})
    enter(portal, partner, checkout, "card", NEEDS_AUTHENTICATION)

    response = pay(portal, partner, checkout)

    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.REQUIRES_ACTION
    assert response["Location"] == checkout.action_url
    with httpx.Client() as browser:
        assert browser.get(checkout.action_url).status_code == 200
        bank = browser.post(checkout.action_url, data={"decision": "approve"})
    assert bank.status_code == 303
    response = portal.get(local(bank.headers["Location"]))
    assert response["Location"] == reverse("portal:receipt", args=[partner.slug, checkout.key])
    overdue.refresh_from_db()
    assert overdue.status == Invoice.Status.PAID


def test_a_surcharge_is_shown_before_paying_and_itemized_after(
    portal, partner, overdue, current, processor, inbox
):
    processor.surcharge_enabled, processor.surcharge_rate = True, Decimal("3.00")
    processor.save()
    checkout = choose(portal, partner, {overdue: "1000.00", current: "450.00"})

    review = enter(portal, partner, checkout, "card", VISA)

    assert "30.00 USD" in review and "13.50 USD" in review  # per invoice
    assert "A surcharge of 3% applies to payments by credit card" in review
    assert "1,493.50 USD" in review
    receipt = portal.get(pay(portal, partner, checkout)["Location"]).content.decode()
    assert "43.50 USD" in receipt and "1,493.50 USD" in receipt
    overdue.refresh_from_db()
    assert overdue.balance == Decimal("500.00")  # the surcharge is not paid to the invoice
    assert "surcharge 30.00 USD" in inbox.messages[0].get_content()


def test_no_surcharge_on_a_debit_card(portal, partner, overdue, processor):
    processor.surcharge_enabled, processor.surcharge_rate = True, Decimal("3.00")
    processor.save()
    checkout = choose(portal, partner, {overdue: "1000.00"})

    review = enter(portal, partner, checkout, "card", VISA_DEBIT)

    assert "surcharge" not in review.lower()
    assert "1,000.00 USD" in review


def test_a_saved_card_pays_the_next_time(portal, partner, overdue, current, inbox):
    checkout = choose(portal, partner, {overdue: "100.00"})
    enter(portal, partner, checkout, "card", VISA)
    pay(portal, partner, checkout, save_method="on")
    saved = SavedMethod.objects.get()
    assert (saved.brand, saved.last4, saved.customer) == ("visa", "4242", overdue.customer)

    second = choose(portal, partner, {current: "450.00"})
    page = portal.get(reverse("portal:checkout", args=[partner.slug, second.key])).content.decode()
    assert "Visa ending 4242" in page
    response = portal.post(
        reverse("portal:checkout", args=[partner.slug, second.key]), {"method": f"saved-{saved.pk}"}
    )
    assert response["Location"] == reverse("portal:review", args=[partner.slug, second.key])

    response = pay(portal, partner, second)

    second.refresh_from_db()
    assert second.status == Checkout.Status.SUCCEEDED
    current.refresh_from_db()
    assert current.balance == 0


def test_an_amount_above_the_balance_is_refused(portal, partner, current):
    response = portal.post(
        reverse("portal:start_checkout", args=[partner.slug]),
        {"invoice": [current.pk], f"amount_{current.pk}": "451.00"},
    )

    assert response.status_code == 400
    assert "left to pay" in response.content.decode()
    assert 'value="451.00"' in response.content.decode()
    assert not Checkout.objects.exists()


def test_with_stripe_the_card_goes_into_stripes_own_element(portal, partner, overdue, processor):
    processor.processor = PaymentSettings.Processor.STRIPE
    processor.credentials = {"secret_key": "sk_test_portal", "publishable_key": "pk_test_portal"}
    processor.save()
    checkout = choose(portal, partner, {overdue: "100.00"})

    response = portal.post(
        reverse("portal:checkout", args=[partner.slug, checkout.key]), {"method": "card"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "pk_test_portal" in page and "sk_test_portal" not in page
    tokenized = reverse("portal:tokenized", args=[partner.slug, checkout.key])
    assert f'action="http://testserver{tokenized}"' in page
    assert 'name="csrfmiddlewaretoken"' in page
