from django.urls import reverse

from arbridge.core.models import Membership, Partner


def make_second_membership(user, other_partner) -> None:
    Membership.objects.create(user=user, partner=other_partner, role=Membership.Role.VIEWER)


def test_it_lists_only_the_users_partners(client, alice, partner, other_partner):
    stranger = Partner.objects.create(name="Stranger MSP")
    client.force_login(alice)
    page = client.get("/").content.decode()
    # With one membership there is nothing to switch to.
    assert reverse("dashboard:switch_partner", args=[partner.pk]) not in page

    make_second_membership(alice, other_partner)
    page = client.get("/").content.decode()
    assert reverse("dashboard:switch_partner", args=[partner.pk]) in page
    assert reverse("dashboard:switch_partner", args=[other_partner.pk]) in page
    assert reverse("dashboard:switch_partner", args=[stranger.pk]) not in page
    assert "Stranger MSP" not in page


def test_it_switches_to_another_of_the_users_partners(
    client, alice, partner, other_partner, invoice
):
    make_second_membership(alice, other_partner)
    client.force_login(alice)
    assert "INV-1001" in client.get("/invoices/").content.decode()

    response = client.post(reverse("dashboard:switch_partner", args=[other_partner.pk]))
    assert response.status_code == 302
    assert response["Location"] == "/"
    page = client.get("/invoices/").content.decode()
    assert "INV-1001" not in page
    assert "0 invoices" in page
    # Alice is a viewer there: the pages for owners are hidden and refused.
    assert reverse("dashboard:api_keys") not in page
    assert client.get(reverse("dashboard:api_keys")).status_code == 403

    client.post(reverse("dashboard:switch_partner", args=[partner.pk]))
    assert "INV-1001" in client.get("/invoices/").content.decode()


def test_it_refuses_a_partner_the_user_is_not_a_member_of(client, alice, other_partner):
    client.force_login(alice)
    response = client.post(reverse("dashboard:switch_partner", args=[other_partner.pk]))
    assert response.status_code == 404
    assert "Acme IT" in client.get("/").content.decode()


def test_it_ignores_a_session_partner_the_user_has_left(client, alice, other_partner):
    membership = Membership.objects.create(user=alice, partner=other_partner)
    client.force_login(alice)
    response = client.post(
        reverse("dashboard:switch_partner", args=[other_partner.pk]), follow=True
    )
    assert "Now working in Other MSP" in response.content.decode()
    membership.delete()
    page = client.get("/").content.decode()
    assert "Acme IT" in page
    assert "Other MSP" not in page


def test_it_only_switches_by_post(client, alice, other_partner):
    make_second_membership(alice, other_partner)
    client.force_login(alice)
    response = client.get(reverse("dashboard:switch_partner", args=[other_partner.pk]))
    assert response.status_code == 405
