"""Getting in: portal links, the partner's billing link, and what ends a portal session."""

import datetime as dt
import re

import time_machine
from django.test import Client
from django.urls import reverse

from arbridge.core import clock
from arbridge.portal.access import SESSION_HOURS
from arbridge.portal.models import SIGN_IN_LINK_MINUTES, PortalLink
from arbridge.portal.views import SIGN_IN_LIMIT

pytest_plugins = ["tests.payments.fixtures", "tests.portal.fixtures"]


def invoices_url(partner) -> str:
    return reverse("portal:invoices", args=[partner.slug])


def billing_url(partner) -> str:
    return reverse("portal:billing_link", args=[partner.slug])


def test_a_portal_link_opens_the_customers_invoices(client, partner, link, overdue, current):
    response = client.get(link.get_absolute_url())

    assert response.status_code == 302
    assert response["Location"] == invoices_url(partner)
    page = client.get(invoices_url(partner)).content.decode()
    assert "Invoices for Globex Corporation" in page
    assert "INV-1001" in page and "INV-1002" in page


def test_the_link_carries_a_signed_id_not_a_guessable_one(client, link):
    forged = link.get_absolute_url().replace(link.token, f"{link.pk}:forged")

    response = client.get(forged)

    assert response.status_code == 404
    assert "This link is not valid" in response.content.decode()
    assert client.get(invoices_url(link.partner)).status_code == 302


def test_a_partner_whose_slug_is_the_links_prefix_has_its_pages_and_links(client, partner, link):
    partner.slug = "l"
    partner.save()
    assert link.get_absolute_url().startswith("/portal/l/")

    assert client.get(billing_url(partner)).status_code == 200
    assert client.get(link.get_absolute_url())["Location"] == "/portal/l/invoices/"
    assert "Invoices for Globex Corporation" in client.get("/portal/l/invoices/").content.decode()


def test_an_expired_link_says_so_with_the_support_email(client, link):
    with time_machine.travel(link.expires_at + dt.timedelta(seconds=1)):
        response = client.get(link.get_absolute_url())

    assert response.status_code == 410
    page = response.content.decode()
    assert "This link has expired" in page
    assert "billing@acme.example" in page
    assert has_no_portal_session(client)


def has_no_portal_session(client: Client) -> bool:
    return "portal" not in client.session


def test_a_revoked_link_no_longer_opens_and_ends_its_sessions(portal, client, link, partner):
    assert portal.get(invoices_url(partner)).status_code == 200

    link.revoke()

    response = portal.get(invoices_url(partner))
    assert response.status_code == 302
    assert response["Location"] == billing_url(partner)
    response = client.get(link.get_absolute_url())
    assert response.status_code == 410
    assert "no longer works" in response.content.decode()


def test_a_portal_session_ends_after_some_hours(portal, partner):
    with time_machine.travel(clock.now() + dt.timedelta(hours=SESSION_HOURS, minutes=1)):
        response = portal.get(invoices_url(partner))

    assert response.status_code == 302
    assert response["Location"] == billing_url(partner)


def test_signing_out_ends_the_session(portal, partner):
    response = portal.post(reverse("portal:sign_out", args=[partner.slug]))

    assert "You are signed out" in response.content.decode()
    assert portal.get(invoices_url(partner)).status_code == 302


def emailed_link(message) -> str:
    return re.search(r"http://testserver(/portal/l/\S+/)", message.get_content()).group(1)


def test_a_billing_contact_gets_a_sign_in_link_by_email(client, partner, globex, inbox):
    response = client.post(billing_url(partner), {"email": "Hank@Globex.example"})

    assert "Check your email" in response.content.decode()
    (message,) = inbox.messages
    assert message["To"] == "hank@globex.example"
    assert "Acme IT" in message["From"]
    assert message["Reply-To"] == "billing@acme.example"
    assert "Globex Corporation" in message.get_content()
    fresh = Client()
    assert fresh.get(emailed_link(message)).status_code == 302
    assert "Invoices for Globex" in fresh.get(invoices_url(partner)).content.decode()


def test_the_customers_own_address_also_gets_one(client, partner, globex, inbox):
    client.post(billing_url(partner), {"email": "ap@globex.example"})

    assert len(inbox.to("ap@globex.example")) == 1


def test_an_unknown_address_gets_the_same_answer_and_no_email(
    client, partner, globex, umbrella, inbox
):
    known = client.post(billing_url(partner), {"email": "hank@globex.example"})
    inbox.messages.clear()

    for address in ("nobody@example.com", "homer@globex.example", "ap@umbrella.example"):
        unknown = client.post(billing_url(partner), {"email": address})
        assert unknown.status_code == known.status_code == 200
        assert unknown.content.decode().replace(address, "X") == known.content.decode().replace(
            "hank@globex.example", "X"
        )

    assert inbox.messages == []
    assert not PortalLink.objects.filter(emailed_to__in=["homer@globex.example"]).exists()


def test_sign_in_links_expire_soon(client, partner, globex, inbox):
    client.post(billing_url(partner), {"email": "hank@globex.example"})
    url = emailed_link(inbox.messages[0])

    later = clock.now() + dt.timedelta(minutes=SIGN_IN_LINK_MINUTES, seconds=1)
    with time_machine.travel(later):
        response = Client().get(url)

    assert response.status_code == 410


def test_asking_too_often_sends_no_more_links(client, partner, globex, inbox):
    for _ in range(SIGN_IN_LIMIT + 2):
        response = client.post(billing_url(partner), {"email": "hank@globex.example"})
        assert "Check your email" in response.content.decode()

    assert len(inbox.messages) == SIGN_IN_LIMIT


def test_a_dashboard_login_is_no_portal_login(client, alice, partner, globex):
    client.force_login(alice)

    response = client.get(invoices_url(partner))

    assert response.status_code == 302
    assert response["Location"] == billing_url(partner)


def test_a_portal_session_is_no_dashboard_login(portal, globex):
    response = portal.get(reverse("dashboard:customer", args=[globex.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_forms_refuse_a_post_without_the_csrf_token(partner, globex, inbox):
    client = Client(enforce_csrf_checks=True)

    response = client.post(billing_url(partner), {"email": "hank@globex.example"})

    assert response.status_code == 403
    assert inbox.messages == []


def test_the_billing_link_takes_a_signed_in_customer_to_their_invoices(portal, partner):
    response = portal.get(billing_url(partner))

    assert response["Location"] == invoices_url(partner)
