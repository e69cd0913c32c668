"""The ledger in the admin: every row can be read and filtered, none edited."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from arbridge.ledger.models import Credit, Customer, Deposit, Invoice, Payment
from tests.ledger.conftest import make_invoice, make_payment

MODELS = [
    "customer",
    "contact",
    "invoice",
    "payment",
    "paymentallocation",
    "credit",
    "deposit",
]


@pytest.fixture
def admin_client(client, db):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "x"))
    return client


@pytest.fixture
def ledger(partner, other_partner, invoice):
    """A paid-in-part invoice for Acme, and an open one for another partner."""
    payment = make_payment(partner, "30.00", status=Payment.Status.SUCCEEDED, reference="ACH 77")
    payment.allocate(invoice, Decimal("30"))
    Credit.apply(invoice, Decimal("5"), reference="CM-5")
    Deposit.objects.create(partner=partner, amount=Decimal("29.10"), processor_reference="po_1")
    theirs = Customer.objects.create(partner=other_partner, name="Initech")
    make_invoice(theirs, "OTHER-1", "75.00")
    return invoice


@pytest.mark.parametrize("model", MODELS)
def test_every_list_opens(admin_client, ledger, model):
    assert admin_client.get(f"/admin/ledger/{model}/").status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_nothing_is_added_in_the_admin(admin_client, model):
    assert admin_client.get(f"/admin/ledger/{model}/add/").status_code == 403


def test_invoices_filter_by_partner_and_status(admin_client, partner, ledger):
    page = admin_client.get(
        "/admin/ledger/invoice/", {"partner__id__exact": partner.pk, "status": "partially_paid"}
    ).content.decode()
    assert "INV-1" in page
    assert "OTHER-1" not in page

    page = admin_client.get("/admin/ledger/invoice/", {"status": "open"}).content.decode()
    assert "OTHER-1" in page
    assert "INV-1" not in page


def test_an_invoice_page_shows_its_money_without_a_save_button(admin_client, ledger):
    page = admin_client.get(f"/admin/ledger/invoice/{ledger.pk}/change/").content.decode()

    assert "65.00" in page  # the balance
    assert "CM-5" in page
    assert 'name="_save"' not in page
    assert admin_client.post(f"/admin/ledger/invoice/{ledger.pk}/delete/").status_code == 403


def test_a_posted_change_does_not_touch_the_balance(admin_client, ledger):
    response = admin_client.post(
        f"/admin/ledger/invoice/{ledger.pk}/change/", {"balance": "0", "status": "paid"}
    )

    assert response.status_code == 403
    ledger.refresh_from_db()
    assert (ledger.balance, ledger.status) == (Decimal("65.00"), "partially_paid")


def test_selected_invoices_can_be_archived(admin_client, ledger):
    admin_client.post(
        "/admin/ledger/invoice/",
        {"action": "archive", "_selected_action": [ledger.pk]},
        follow=True,
    )

    ledger.refresh_from_db()
    assert ledger.archived
    assert Invoice.objects.filter(archived=False).count() == 1
