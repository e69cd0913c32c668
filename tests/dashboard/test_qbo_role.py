"""A connection's role in the integration hierarchy, set on its page."""

from django.urls import reverse

from arbridge.core.models import AuditEntry, Connection


def page(connection: Connection) -> str:
    return reverse("dashboard:connection", args=[connection.pk])


def test_the_connection_page_shows_it(client, alice, connection):
    client.force_login(alice)

    response = client.get(page(connection))

    body = response.content.decode()
    assert response.status_code == 200
    assert "QuickBooks Online" in body
    assert 'value="primary" selected' in body
    assert reverse("dashboard:preferences", args=[connection.pk]) in body
    assert reverse("dashboard:disconnect", args=[connection.pk]) in body


def test_a_role_is_given(client, alice, connection):
    halo = Connection.objects.create(partner=connection.partner, kind="halopsa")
    client.force_login(alice)

    response = client.post(page(halo), {"role": "secondary"})

    assert response.status_code == 302
    halo.refresh_from_db()
    assert halo.role == Connection.Role.SECONDARY
    assert AuditEntry.objects.filter(action="connection.role_changed", actor=alice).exists()


def test_a_role_already_held_is_a_clear_form_error(client, alice, connection):
    halo = Connection.objects.create(partner=connection.partner, kind="halopsa")
    client.force_login(alice)

    response = client.post(page(halo), {"role": "primary"})

    assert response.status_code == 400
    assert (
        "QuickBooks Online is already your primary connection. Give it another role first."
        in response.content.decode()
    )
    halo.refresh_from_db()
    assert halo.role is None


def test_another_partners_roles_do_not_count(client, alice, charlie, connection):
    theirs = Connection.objects.create(
        partner=charlie.memberships.get().partner, kind="xero", role=Connection.Role.SECONDARY
    )
    halo = Connection.objects.create(partner=connection.partner, kind="halopsa")
    client.force_login(alice)

    client.post(page(halo), {"role": "secondary"})

    halo.refresh_from_db()
    assert halo.role == theirs.role == Connection.Role.SECONDARY


def test_a_role_is_taken_away(client, alice, connection):
    client.force_login(alice)

    client.post(page(connection), {"role": ""})

    connection.refresh_from_db()
    assert connection.role is None


def test_roles_are_for_owners_and_admins(client, bob, connection):
    client.force_login(bob)

    assert client.get(page(connection)).status_code == 200
    assert client.post(page(connection), {"role": ""}).status_code == 403
    connection.refresh_from_db()
    assert connection.role == Connection.Role.PRIMARY


def test_another_partners_connection_is_not_found(client, charlie, connection):
    client.force_login(charlie)

    assert client.post(page(connection), {"role": ""}).status_code == 404
    connection.refresh_from_db()
    assert connection.role == Connection.Role.PRIMARY


def test_the_connections_page_links_to_each_and_offers_to_connect(client, alice, connection):
    client.force_login(alice)

    body = client.get(reverse("dashboard:connections")).content.decode()

    assert page(connection) in body
    assert reverse("dashboard:connect", args=["qbo"]) in body
