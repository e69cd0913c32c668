# ruff: noqa: F811 (the fixtures imported from tests.payments.fixtures are parameters here)
"""The partner's payment pages: settings, payments and refunds, payouts, the Unmatched queue.

Money moves through arbridge.payments.services and, for refunds and the
sandbox account, through the sandbox processor served over loopback HTTP.
"""

import datetime as dt
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from arbridge.core.models import AuditEntry, Membership
from arbridge.integrations.models import ExternalRef, OutboundCommand
from arbridge.ledger.models import Invoice, Payment
from arbridge.payments import base, events, services
from arbridge.payments.models import Checkout, PaymentSettings, UnmatchedFunds
from tests.dashboard.conftest import make_invoice
from tests.payments.fixtures import (  # noqa: F401 (fixtures)
    BANK,
    RETURN_URL,
    processor_credentials,
    processor_receiver,
    processor_sandbox,
    processor_server,
    processor_settings,
    processor_webhook_url,
    tokenize,
)

SETTINGS = reverse("dashboard:payment_settings")
UNMATCHED = reverse("dashboard:unmatched")


@pytest.fixture
def viewer(partner) -> User:
    user = User.objects.create_user("vera", "vera@acme.example")
    Membership.objects.create(user=user, partner=partner, role=Membership.Role.VIEWER)
    return user


STRIPE_KEYS = {
    "secret_key": "sk_test_51Secret0000000000abcd",
    "publishable_key": "pk_test_51Public",
    "webhook_secret": "whsec_Signing9876",
}


def collecting(**changes) -> dict:
    return {"surcharge_rate": "0", **changes}


# -- settings -------------------------------------------------------------------------


def test_surcharging_and_ach_are_off_until_the_owner_turns_them_on(client, alice, partner):
    client.force_login(alice)
    page = client.get(SETTINGS).content.decode()
    assert "No processor is set up yet" in page
    # The rules are on the page beside the form.
    for rule in (
        "credit</em> card only",
        "CT, MA, ME, PR",
        "capped at 2% for customers billed in CO",
    ):
        assert rule in page
    response = client.post(
        SETTINGS,
        collecting(surcharge_enabled="on", surcharge_rate="2.5", ach_writeback_at_initiation="on"),
        follow=True,
    )
    assert "Payment settings saved." in response.content.decode()
    saved = PaymentSettings.of(partner)
    assert saved.surcharge_enabled is True
    assert saved.surcharge_rate == Decimal("2.50")
    assert saved.ach_writeback_at_initiation is True
    assert AuditEntry.objects.filter(partner=partner, action="payments.settings_changed").exists()


@pytest.mark.parametrize(
    ("rate", "error"),
    [
        ("3.01", "Card networks cap surcharges at 3%."),
        ("4", "Card networks cap surcharges at 3%."),
        ("0", "Enter a rate above 0 to surcharge."),
        ("-1", "Enter a rate above 0 to surcharge."),
        ("2.555", "Ensure that there are no more than 2 decimal places."),
        ("lots", "Enter a number."),
    ],
)
def test_it_refuses_a_surcharge_rate_outside_the_cap(client, alice, partner, rate, error):
    client.force_login(alice)
    response = client.post(SETTINGS, collecting(surcharge_enabled="on", surcharge_rate=rate))
    assert response.status_code == 400
    assert error in response.content.decode()
    assert PaymentSettings.of(partner).surcharge_enabled is False


def test_the_cap_is_three_percent_exactly(client, alice, partner):
    client.force_login(alice)
    client.post(SETTINGS, collecting(surcharge_enabled="on", surcharge_rate="3"))
    assert PaymentSettings.of(partner).surcharge_rate == Decimal("3.00")


def test_stripe_keys_are_checked_and_never_shown_back(client, alice, partner):
    client.force_login(alice)
    stripe = reverse("dashboard:use_stripe")
    response = client.post(
        stripe,
        {"secret_key": "pk_test_wrong", "publishable_key": "pk_live_abc", "webhook_secret": ""},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "starts with sk_" in page
    assert "Required." in page
    mixed = {
        "secret_key": "sk_test_51Secret0000000000abcd",
        "publishable_key": "pk_live_51Public",
        "webhook_secret": "whsec_Signing9876",
    }
    assert "both be test keys or both be live keys" in client.post(stripe, mixed).content.decode()
    client.post(stripe, {**mixed, "publishable_key": "pk_test_51Public"})
    saved = PaymentSettings.of(partner)
    assert saved.processor == "stripe"
    assert saved.credentials == {**mixed, "publishable_key": "pk_test_51Public"}
    page = client.get(SETTINGS).content.decode()
    assert "sk_test_…abcd" in page
    assert "whsec_…9876" in page
    assert "sk_test_51Secret0000000000abcd" not in page
    assert "whsec_Signing9876" not in page
    # An empty field keeps the saved key.
    client.post(
        stripe, {"secret_key": "", "publishable_key": "pk_test_51Other", "webhook_secret": ""}
    )
    saved.refresh_from_db()
    assert saved.credentials["secret_key"] == "sk_test_51Secret0000000000abcd"
    assert saved.credentials["publishable_key"] == "pk_test_51Other"


def test_only_owners_and_admins_change_payment_settings(client, bob, viewer, partner):
    for user in (bob, viewer):
        client.force_login(user)
        assert client.get(SETTINGS).status_code == 403
        post = client.post(SETTINGS, collecting(surcharge_enabled="on", surcharge_rate="3"))
        assert post.status_code == 403
        assert client.post(reverse("dashboard:use_sandbox")).status_code == 403
        assert client.post(reverse("dashboard:use_stripe"), {}).status_code == 403
    assert PaymentSettings.of(partner).surcharge_enabled is False
    assert PaymentSettings.of(partner).credentials == {}


def test_each_partner_has_its_own_settings(client, alice, charlie, partner, other_partner):
    client.force_login(charlie)
    client.post(SETTINGS, collecting(surcharge_enabled="on", surcharge_rate="1.5"))
    assert PaymentSettings.of(other_partner).surcharge_rate == Decimal("1.50")
    assert PaymentSettings.of(partner).surcharge_enabled is False


# -- unmatched money ----------------------------------------------------------------


def linked(invoice: Invoice, connection, remote_id: str) -> Invoice:
    """Link an invoice to its QuickBooks copy, as a sync would."""
    ExternalRef.objects.create(
        partner_id=invoice.partner_id,
        connection=connection,
        entity=ExternalRef.Entity.INVOICE,
        remote_id=remote_id,
        local_id=invoice.pk,
    )
    return invoice


@pytest.fixture
def invoices(customer, connection) -> tuple[Invoice, Invoice]:
    return (
        linked(make_invoice(customer, "INV-2001", "300.00"), connection, "2001"),
        linked(make_invoice(customer, "INV-2002", "200.00"), connection, "2002"),
    )


@pytest.fixture
def funds(partner, invoices) -> UnmatchedFunds:
    """A bank transfer whose reference names no invoice of its amount."""
    funds = events.receive_funds(partner.pk, "fr_001", Decimal("450.00"), "USD", "Globex April")
    assert isinstance(funds, UnmatchedFunds)
    return funds


def test_a_person_applies_unmatched_money_to_two_invoices(client, bob, partner, funds, invoices):
    first, second = invoices
    client.force_login(bob)
    queue = client.get(UNMATCHED).content.decode()
    assert "Globex April" in queue
    assert "450.00 USD" in queue
    apply = reverse("dashboard:apply_unmatched", args=[funds.pk])
    found = client.get(apply, {"q": "INV-200"}).content.decode()
    assert "INV-2001" in found and "INV-2002" in found
    response = client.post(
        apply,
        {"q": "INV-200", f"amount-{first.pk}": "300.00", f"amount-{second.pk}": "150"},
        follow=True,
    )
    assert "Applied 450.00 USD to INV-2001, INV-2002." in response.content.decode()
    funds.refresh_from_db()
    assert funds.status == UnmatchedFunds.Status.APPLIED
    assert funds.applied_by == bob
    payment = funds.payment
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.amount == Decimal("450.00")
    first.refresh_from_db(), second.refresh_from_db()
    assert (first.balance, first.status) == (Decimal("0.00"), Invoice.Status.PAID)
    assert (second.balance, second.status) == (Decimal("50.00"), Invoice.Status.PARTIALLY_PAID)
    # Written back like any payment: one command to the connection holding the invoices.
    assert OutboundCommand.objects.filter(action="create_payment").count() == 1
    page = client.get(UNMATCHED).content.decode()
    assert "Nothing waiting." in page
    assert 'data-testid="unmatched-applied"' in page


@pytest.mark.parametrize(
    ("amounts", "error"),
    [
        ({0: "300.00"}, "The amounts add up to 300.00, not the 450.00 received."),
        ({0: "300.00", 1: "300.00"}, "add up to 600.00"),
        ({0: "abc"}, "“abc” for invoice INV-2001 is not an amount."),
        ({0: "-450"}, "Enter a positive amount for invoice INV-2001."),
        ({}, "Choose at least one invoice."),
        # More than the invoice owes: the ledger refuses it.
        ({0: "450.00"}, "invoice INV-2001 can take at most 300.00"),
    ],
)
def test_it_shows_why_money_cannot_be_applied(client, bob, funds, invoices, amounts, error):
    client.force_login(bob)
    data = {"q": "INV-200"} | {f"amount-{invoices[i].pk}": a for i, a in amounts.items()}
    response = client.post(reverse("dashboard:apply_unmatched", args=[funds.pk]), data)
    assert response.status_code == 400
    assert error in response.content.decode()
    # What the person typed stays in the form.
    for amount in amounts.values():
        assert f'value="{amount}"' in response.content.decode()
    funds.refresh_from_db()
    assert funds.status == UnmatchedFunds.Status.OPEN
    assert not Payment.objects.filter(status=Payment.Status.SUCCEEDED, amount=450).exists()


def test_without_a_search_it_suggests_invoices_owing_the_amount(client, bob, partner, customer):
    owing = make_invoice(customer, "INV-3001", "75.00")
    make_invoice(customer, "INV-3002", "80.00")
    funds = events.receive_funds(partner.pk, "fr_075", Decimal("75.00"), "USD", "")
    client.force_login(bob)
    page = client.get(reverse("dashboard:apply_unmatched", args=[funds.pk])).content.decode()
    assert f"amount-{owing.pk}" in page
    assert "INV-3002" not in page


def test_a_viewer_sees_the_queue_but_cannot_apply(client, viewer, funds, invoices):
    client.force_login(viewer)
    apply = reverse("dashboard:apply_unmatched", args=[funds.pk])
    page = client.get(apply, {"q": "INV"}).content.decode()
    assert "Only members who handle money can apply it." in page
    response = client.post(
        apply, {f"amount-{invoices[0].pk}": "300", f"amount-{invoices[1].pk}": "150"}
    )
    assert response.status_code == 403
    funds.refresh_from_db()
    assert funds.status == UnmatchedFunds.Status.OPEN


def test_the_nav_counts_money_waiting(client, alice, partner, funds):
    client.force_login(alice)
    page = client.get(reverse("dashboard:overview")).content.decode()
    badge = reverse("dashboard:unmatched_badge")
    assert f'hx-get="{badge}"' in page
    assert ">1</span>" in client.get(badge).content.decode()
    events.receive_funds(partner.pk, "fr_002", Decimal("12.00"), "USD", "no idea")
    assert ">2</span>" in client.get(badge).content.decode()
    assert 'data-testid="unmatched-count">2<' in client.get(UNMATCHED).content.decode()


def test_another_partners_unmatched_money_is_out_of_reach(
    client, charlie, other_partner, funds, invoices
):
    client.force_login(charlie)
    apply = reverse("dashboard:apply_unmatched", args=[funds.pk])
    assert client.get(apply).status_code == 404
    assert client.post(apply, {f"amount-{invoices[0].pk}": "450"}).status_code == 404
    assert "Globex April" not in client.get(UNMATCHED).content.decode()
    assert client.get(reverse("dashboard:unmatched_badge")).content.decode().strip() == ""
    # Nor can charlie's own money be applied to acme's invoices.
    own = events.receive_funds(other_partner.pk, "fr_other", Decimal("300.00"), "USD", "x")
    response = client.post(
        reverse("dashboard:apply_unmatched", args=[own.pk]), {f"amount-{invoices[0].pk}": "300.00"}
    )
    assert response.status_code == 400
    assert "Choose at least one invoice." in response.content.decode()
    own.refresh_from_db()
    assert own.status == UnmatchedFunds.Status.OPEN
    invoices[0].refresh_from_db()
    assert invoices[0].balance == Decimal("300.00")


# -- payouts --------------------------------------------------------------------------


def test_a_payout_shows_its_deposit_lines_and_where_it_was_written(
    client, alice, partner, connection, customer
):
    invoice = linked(make_invoice(customer, "INV-4001", "100.00"), connection, "4001")
    payment = Payment.objects.create(
        partner=partner,
        customer=customer,
        amount=Decimal("100.00"),
        method=Payment.Method.CARD,
        processor_reference="pay_1",
    )
    payment.allocate(invoice, Decimal("100.00"))
    services.succeed(payment)
    connection.preferences = {"create_deposits": True, "deposit_account_id": "35"}
    connection.save(update_fields=["preferences"])
    payout = base.Payout(
        reference="po_1",
        amount=Decimal("99.70"),
        currency="USD",
        arrival_date=dt.date(2025, 4, 3),
        items=(
            base.PayoutItem(
                "charge", "pay_1", Decimal("103.00"), Decimal("3.30"), Decimal("99.70")
            ),
        ),
    )
    deposit = events.record_payout(partner, payout)
    client.force_login(alice)
    page = client.get(reverse("dashboard:payouts")).content.decode()
    assert "po_1" in page
    for amount in ("100.00 USD", "3.00 USD", "-3.30 USD", "99.70 USD"):
        assert amount in page
    assert "Sum = payout" in page
    # The payment's create is still owed, so the deposit waits for it.
    assert "Waiting" in page
    assert deposit.is_balanced()


# -- invoices ---------------------------------------------------------------------------


def test_an_invoice_shows_a_pending_ach_payment(client, alice, partner, customer):
    invoice = make_invoice(customer, "INV-5001", "500.00")
    client.force_login(alice)
    url = reverse("dashboard:invoice", args=[invoice.pk])
    assert "Payment pending (ACH)" not in client.get(url).content.decode()
    payment = Payment.objects.create(
        partner=partner, customer=customer, amount=Decimal("200.00"), method=Payment.Method.ACH
    )
    payment.allocate(invoice, Decimal("200.00"))
    page = client.get(url).content.decode()
    assert "Payment pending (ACH)" in page
    assert "200.00 USD is held" in page


# -- with the sandbox processor --------------------------------------------------------


def mount_processor(processor_server, processor_sandbox, settings) -> str:
    """Serve the sandbox processor where this server mounts it: BASE_URL/sandbox/processor."""
    processor_server.app = DispatcherMiddleware(
        NotFound(), {"/sandbox/processor": processor_sandbox}
    )
    settings.BASE_URL = processor_server.url
    return f"{processor_server.url}/sandbox/processor"


def tokenize_at(credentials: dict, **fields: str) -> str:
    """Type a test bank account into the processor's hosted page; return its token."""
    page = f"{credentials['base_url']}/tokenize/{credentials['account_id']}"
    form = {"kind": "ach", **BANK, "mandate": "accepted", "return_url": RETURN_URL, **fields}
    answer = httpx.post(page, data=form)
    assert answer.status_code == 303, answer.text
    return parse_qs(urlsplit(answer.headers["Location"]).query)["token"][0]


def pay(customer, invoice: Invoice, amount: str, token: str) -> Checkout:
    checkout = services.open_checkout(customer, {invoice: Decimal(amount)})
    services.choose_method(checkout, token)
    return services.pay(checkout.key, return_url="http://testserver/back")


def test_the_owner_opens_a_sandbox_processor_account(
    client, alice, partner, processor_server, processor_sandbox, settings
):
    base_url = mount_processor(processor_server, processor_sandbox, settings)
    client.force_login(alice)
    response = client.post(reverse("dashboard:use_sandbox"), follow=True)
    assert "Payments now go to the sandbox processor" in response.content.decode()
    saved = PaymentSettings.of(partner)
    assert saved.processor == "sandbox"
    assert saved.credentials["base_url"] == base_url
    # The account is real, and sends its events to the partner's webhook.
    account = httpx.get(f"{base_url}/_sandbox/accounts").json()["data"][0]
    assert account["id"] == saved.credentials["account_id"]
    assert account["webhook_url"] == f"{processor_server.url}/webhooks/sandbox-processor/acme-it/"
    assert services.processor_for(partner).client_config()["kind"] == "sandbox"
    assert "Your customers pay through <strong>Sandbox" in client.get(SETTINGS).content.decode()
    assert AuditEntry.objects.filter(partner=partner, action="payments.processor_changed").exists()


def test_it_keeps_the_processor_while_an_ach_debit_is_pending(
    client, alice, partner, customer, processor_server, processor_sandbox, settings
):
    mount_processor(processor_server, processor_sandbox, settings)
    client.force_login(alice)
    client.post(reverse("dashboard:use_sandbox"))
    credentials = PaymentSettings.of(partner).credentials
    invoice = make_invoice(customer, "INV-6001", "500.00")
    token = tokenize_at(credentials, account_number="000123456789")
    assert pay(customer, invoice, "500.00", token).status == Checkout.Status.PENDING
    for switch in (
        client.post(reverse("dashboard:use_sandbox"), follow=True),
        client.post(reverse("dashboard:use_stripe"), STRIPE_KEYS, follow=True),
    ):
        assert "1 payment(s) are still in progress" in switch.content.decode()
    assert PaymentSettings.of(partner).credentials == credentials
    # The invoice and the payments list show the money held.
    page = client.get(reverse("dashboard:invoice", args=[invoice.pk])).content.decode()
    assert "500.00 USD is held" in page
    assert "Pending (ACH)" in client.get(reverse("dashboard:payments")).content.decode()


def test_finance_refunds_a_card_payment(
    client, bob, viewer, charlie, partner, customer, connection, processor_settings, tokenize
):
    invoice = linked(make_invoice(customer, "INV-7001", "300.00"), connection, "7001")
    checkout = pay(customer, invoice, "300.00", tokenize())
    assert checkout.status == Checkout.Status.SUCCEEDED
    payment = checkout.payment
    # Its write-back was delivered: QuickBooks holds it as payment 88.
    ExternalRef.objects.create(
        partner=partner,
        connection=connection,
        entity=ExternalRef.Entity.PAYMENT,
        remote_id="88",
        local_id=payment.pk,
    )
    refund = reverse("dashboard:refund_payment", args=[payment.pk])
    client.force_login(bob)
    page = client.get(reverse("dashboard:payments")).content.decode()
    assert "Visa ending 4242" in page
    assert refund in page
    # Outsiders and viewers cannot refund.
    client.force_login(charlie)
    assert client.post(refund).status_code == 404
    assert "INV-7001" not in client.get(reverse("dashboard:payments")).content.decode()
    client.force_login(viewer)
    assert client.post(refund).status_code == 403
    assert refund not in client.get(reverse("dashboard:payments")).content.decode()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED

    client.force_login(bob)
    response = client.post(refund, follow=True)
    assert f"Payment {payment.pk} refunded: 300.00 USD." in response.content.decode()
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    assert invoice.balance == Decimal("300.00")
    # QuickBooks is owed the payment's delete.
    delete = OutboundCommand.objects.get(action="delete_payment")
    assert delete.payload["remote_id"] == "88"
    assert AuditEntry.objects.filter(partner=partner, action="payment.refunded").exists()
    again = client.post(refund, follow=True).content.decode()
    assert "A refunded payment cannot be refunded." in again


def test_money_from_the_unmatched_queue_is_not_refunded_here(client, bob, funds, invoices):
    amounts = {invoices[0]: Decimal("300.00"), invoices[1]: Decimal("150.00")}
    payment = events.apply_unmatched(funds, amounts, actor=bob)
    client.force_login(bob)
    response = client.post(reverse("dashboard:refund_payment", args=[payment.pk]), follow=True)
    assert "Only payments made in the portal can be refunded here." in response.content.decode()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
