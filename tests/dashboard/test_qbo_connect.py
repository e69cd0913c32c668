"""Connecting QuickBooks Online from the dashboard: OAuth2 against the sandbox, end to end."""

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.urls import reverse

from arbridge.core.models import AuditEntry, Connection
from arbridge.integrations.models import ExternalRef, SyncRun

# The QuickBooks sandbox on loopback HTTP, and Acme's connection to a company in it.
pytest_plugins = ["tests.integrations.qbo.fixtures"]

CONNECT = reverse("dashboard:connect", args=["qbo"])


def consent(authorize_url: str, realm: str) -> str:
    """Approve on Intuit's consent screen (the sandbox's); return the callback it sends back."""
    response = httpx.get(f"{authorize_url}&realmId={realm}")
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["Location"])
    return f"{location.path}?{location.query}"


def connect(client, company, realm: str | None = None, start: str = CONNECT):
    """Press Connect, approve, and come back; return the callback's response."""
    authorize = client.get(start)
    assert authorize.status_code == 302
    return client.get(consent(authorize["Location"], realm or company.realm))


def test_connecting_stores_the_token_and_starts_the_first_sync(client, alice, company):
    client.force_login(alice)

    response = connect(client, company)

    connection = Connection.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:connection", args=[connection.pk])
    assert (connection.kind, connection.partner.name) == ("qbo", "Acme IT")
    assert connection.status == Connection.Status.CONNECTED
    assert connection.remote_account == company.realm
    token = connection.credentials["token"]
    assert company.sandbox.store.auth.realm_of(token["access_token"]) == company.realm
    run = SyncRun.objects.get()
    assert (run.connection, run.trigger, run.status) == (connection, "initial", "queued")
    assert AuditEntry.objects.filter(action="connection.connected", actor=alice).exists()


def test_the_consent_url_carries_a_state_bound_to_the_person(client, alice, company):
    client.force_login(alice)

    location = client.get(CONNECT)["Location"]

    query = parse_qs(urlsplit(location).query)
    assert query["client_id"] == ["sandbox-client-id"]
    assert query["redirect_uri"] == ["http://localhost:8000/integrations/qbo/callback/"]
    assert query["scope"] == ["com.intuit.quickbooks.accounting"]
    assert query["state"][0]
    assert Connection.objects.get().status == Connection.Status.PENDING


def test_connecting_twice_reuses_the_connection(client, alice, company):
    client.force_login(alice)

    client.get(CONNECT)
    connect(client, company)

    assert Connection.objects.count() == 1


def test_connecting_is_for_owners_and_admins(client, bob, company):
    client.force_login(bob)

    assert client.get(CONNECT).status_code == 403
    assert not Connection.objects.exists()


def test_a_callback_started_by_someone_else_is_refused(client, alice, charlie, company):
    client.force_login(alice)
    callback = consent(client.get(CONNECT)["Location"], company.realm)
    client.force_login(charlie)

    response = client.get(callback, follow=True)

    assert "started by someone else" in response.content.decode()
    assert Connection.objects.get().status == Connection.Status.PENDING
    assert not SyncRun.objects.exists()


def test_a_forged_state_is_refused(client, alice, company):
    client.force_login(alice)
    client.get(CONNECT)

    response = client.get(
        reverse("dashboard:oauth_callback", args=["qbo"]),
        {"code": "x", "state": "forged", "realmId": company.realm},
        follow=True,
    )

    assert "expired or was not started here" in response.content.decode()
    assert Connection.objects.get().status == Connection.Status.PENDING


def test_a_refused_consent_leaves_it_unconnected(client, alice, company):
    client.force_login(alice)
    location = client.get(CONNECT)["Location"]
    state = parse_qs(urlsplit(location).query)["state"][0]

    response = client.get(
        reverse("dashboard:oauth_callback", args=["qbo"]),
        {"error": "access_denied", "state": state},
        follow=True,
    )

    assert "refused the authorization (access_denied)" in response.content.decode()
    assert Connection.objects.get().status == Connection.Status.PENDING


def test_reconnecting_to_another_company_is_refused(client, alice, qbo, company):
    other = company.sandbox.store.add_realm("4620816365", "Someone Else's Books")
    client.force_login(alice)

    response = connect(
        client, company, realm=other, start=reverse("dashboard:reconnect", args=[qbo.pk])
    )

    assert response.status_code == 302
    qbo.refresh_from_db()
    assert qbo.remote_account == company.realm
    messages = client.get(reverse("dashboard:connections")).content.decode()
    assert "another QuickBooks Online account" in messages


def test_disconnecting_revokes_the_grant_and_keeps_the_data(client, alice, qbo, company):
    ExternalRef.objects.create(
        partner=qbo.partner, connection=qbo, entity="customer", remote_id="58", local_id=1
    )
    token = qbo.credentials["token"]
    client.force_login(alice)

    response = client.post(reverse("dashboard:disconnect", args=[qbo.pk]))

    assert response.status_code == 302
    qbo.refresh_from_db()
    assert qbo.status == Connection.Status.DISCONNECTED
    assert "token" not in qbo.credentials
    assert company.sandbox.store.auth.realm_of(token["access_token"]) is None
    assert ExternalRef.objects.filter(connection=qbo).count() == 1
    assert AuditEntry.objects.filter(action="connection.disconnected").exists()


def test_reconnecting_after_a_disconnect(client, alice, qbo, company):
    client.force_login(alice)
    client.post(reverse("dashboard:disconnect", args=[qbo.pk]))

    connect(client, company, start=reverse("dashboard:reconnect", args=[qbo.pk]))

    qbo.refresh_from_db()
    assert qbo.status == Connection.Status.CONNECTED
    assert company.sandbox.store.auth.realm_of(qbo.credentials["token"]["access_token"])
    assert Connection.objects.count() == 1


@pytest.mark.parametrize(
    "name, method", [("disconnect", "post"), ("reconnect", "get"), ("connection", "get")]
)
def test_another_partners_connection_is_not_found(client, charlie, qbo, name, method):
    client.force_login(charlie)

    response = getattr(client, method)(reverse(f"dashboard:{name}", args=[qbo.pk]))

    assert response.status_code == 404
    qbo.refresh_from_db()
    assert qbo.status == Connection.Status.CONNECTED


def test_without_an_app_there_is_nothing_to_connect_to(client, alice, settings):
    settings.IS_PRODUCTION = True
    client.force_login(alice)

    response = client.get(CONNECT, follow=True)

    assert "ARBRIDGE_QBO_CLIENT_ID is missing" in response.content.decode()
