"""A portal visitor sees one customer's rows of one partner; every way across is closed."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from arbridge.core.models import Membership
from arbridge.payments import services
from arbridge.payments.models import Checkout
from arbridge.portal.models import PortalLink


@pytest.mark.parametrize("name", ["portal:invoice", "portal:invoice_pdf"])
def test_another_customers_invoice_is_not_found(portal, partner, initech_invoice, name):
    response = portal.get(reverse(name, args=[partner.slug, initech_invoice.pk]))

    assert response.status_code == 404


@pytest.mark.parametrize("name", ["portal:invoice", "portal:invoice_pdf"])
def test_another_partners_invoice_is_not_found(portal, partner, umbrella_invoice, name):
    response = portal.get(reverse(name, args=[partner.slug, umbrella_invoice.pk]))

    assert response.status_code == 404


def test_the_session_does_not_open_another_partners_portal(portal, other_partner, umbrella_invoice):
    url = reverse("portal:invoice", args=[other_partner.slug, umbrella_invoice.pk])

    response = portal.get(url)

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:billing_link", args=[other_partner.slug])


def test_another_customers_invoice_cannot_be_put_in_a_checkout(
    portal, partner, overdue, initech_invoice, umbrella_invoice
):
    response = portal.post(
        reverse("portal:start_checkout", args=[partner.slug]),
        {"invoice": [initech_invoice.pk, umbrella_invoice.pk]},
    )

    assert response.status_code == 400
    assert "Choose at least one invoice" in response.content.decode()
    assert not Checkout.objects.exists()


CHECKOUT_PAGES = ["checkout", "tokenized", "review", "resume", "checkout_status", "receipt"]


@pytest.mark.parametrize("name", CHECKOUT_PAGES)
def test_another_customers_checkout_is_not_found(portal, partner, initech_invoice, name):
    theirs = services.open_checkout(initech_invoice.customer, {initech_invoice: Decimal("10")})

    response = portal.get(reverse(f"portal:{name}", args=[partner.slug, theirs.key]))

    assert response.status_code == 404


def test_another_customers_checkout_cannot_be_paid(portal, partner, initech_invoice):
    theirs = services.open_checkout(initech_invoice.customer, {initech_invoice: Decimal("10")})

    response = portal.post(reverse("portal:pay", args=[partner.slug, theirs.key]))

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Checkout.Status.OPEN


def test_opening_a_second_link_replaces_the_first_customer(portal, partner, initech, overdue):
    portal.get(PortalLink.issue(initech).get_absolute_url())

    page = portal.get(reverse("portal:invoices", args=[partner.slug])).content.decode()
    assert "Invoices for Initech" in page
    assert "INV-1001" not in page
    assert portal.get(reverse("portal:invoice", args=[partner.slug, overdue.pk])).status_code == 404


def test_a_link_of_one_partner_does_not_reach_the_other(client, umbrella, partner, overdue):
    client.get(PortalLink.issue(umbrella).get_absolute_url())

    response = client.get(reverse("portal:invoice", args=[partner.slug, overdue.pk]))

    assert response.status_code == 302


def test_client_without_session_is_sent_to_sign_in(partner, overdue):
    response = Client().get(reverse("portal:invoice", args=[partner.slug, overdue.pk]))

    assert response["Location"] == reverse("portal:billing_link", args=[partner.slug])


def test_an_unknown_partner_is_not_found(client, db):
    assert client.get(reverse("portal:billing_link", args=["nobody"])).status_code == 404


def test_membership_roles_do_not_leak_into_the_portal(portal, partner, alice):
    # A portal session carries no user: the dashboard's roles never apply to it.
    assert portal.get(reverse("dashboard:overview")).status_code == 302
    assert Membership.objects.filter(user=alice).exists()
