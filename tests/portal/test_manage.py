"""The dashboard's side: a customer's portal links, made and revoked by owners and finance."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from arbridge.core.models import AuditEntry, Membership
from arbridge.portal.models import PortalLink
from tests.conftest import PASSWORD


def member(partner, name: str, role: str) -> User:
    user = User.objects.create_user(name, f"{name}@acme.example", PASSWORD)
    Membership.objects.create(user=user, partner=partner, role=role)
    return user


def create_url(customer) -> str:
    return reverse("portal:create_link", args=[customer.pk])


def test_an_owner_makes_a_link_and_the_customer_page_shows_it(client, alice, globex):
    client.force_login(alice)

    response = client.post(create_url(globex), {"days": "30"})

    assert response.status_code == 302
    link = PortalLink.objects.get()
    assert link.customer == globex and link.created_by == alice
    assert (link.expires_at - link.created_at).days == 30
    page = client.get(reverse("dashboard:customer", args=[globex.pk])).content.decode()
    assert f"http://testserver{link.get_absolute_url()}" in page
    assert reverse("portal:revoke_link", args=[globex.pk, link.pk]) in page
    assert f"http://testserver/portal/{globex.partner.slug}/" in page
    assert AuditEntry.objects.filter(action="portal_link.created", actor=alice).exists()


def test_a_finance_member_revokes_a_link(client, bob, globex, link):
    client.force_login(bob)

    response = client.post(reverse("portal:revoke_link", args=[globex.pk, link.pk]))

    assert response.status_code == 302
    link.refresh_from_db()
    assert link.is_revoked
    page = client.get(reverse("dashboard:customer", args=[globex.pk])).content.decode()
    assert link.token not in page


@pytest.mark.parametrize("role", [Membership.Role.VIEWER, Membership.Role.ADMIN])
def test_other_roles_may_not_make_or_revoke_links(client, partner, globex, link, role):
    client.force_login(member(partner, "dana", role))

    assert client.post(create_url(globex)).status_code == 403
    assert client.post(reverse("portal:revoke_link", args=[globex.pk, link.pk])).status_code == 403
    page = client.get(reverse("dashboard:customer", args=[globex.pk])).content.decode()
    assert "Create portal link" not in page and "Revoke" not in page
    assert PortalLink.objects.count() == 1 and not PortalLink.objects.get().is_revoked


def test_the_outsider_cannot_touch_another_partners_links(client, charlie, globex, link):
    client.force_login(charlie)

    assert client.post(create_url(globex)).status_code == 404
    assert client.post(reverse("portal:revoke_link", args=[globex.pk, link.pk])).status_code == 404
    link.refresh_from_db()
    assert not link.is_revoked


def test_a_link_is_revoked_only_through_its_own_customer(client, alice, initech, link):
    client.force_login(alice)

    response = client.post(reverse("portal:revoke_link", args=[initech.pk, link.pk]))

    assert response.status_code == 404


def test_making_a_link_takes_a_post(client, alice, globex):
    client.force_login(alice)

    assert client.get(create_url(globex)).status_code == 405
