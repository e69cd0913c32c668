# ruff: noqa: F811 (the fixtures imported from tests.integrations.psa are parameters here)
"""Connecting a PSA from the connections page: credentials checked, kept encrypted."""

import pytest
from django.db import connection as db

from arbridge.core.models import Connection
from arbridge.sandbox.connectwise import app as connectwise_app
from arbridge.sandbox.halopsa import app as halo_app
from tests.integrations.psa.conftest import (  # noqa: F401
    connectwise_sandbox,
    connectwise_url,
    fresh_limiters,
    halo_sandbox,
    halo_url,
    halo_version,
    psa_server,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


def halo_form(halo_url: str, **changes) -> dict:
    return {
        "role": "primary",
        "base_url": halo_url,
        "tenant": halo_app.TENANT,
        "client_id": halo_app.CLIENT_ID,
        "client_secret": halo_app.CLIENT_SECRET,
        "webhook_auth": "header",
        "webhook_header": "X-Arbridge-Secret",
        "webhook_value": "s3cret",
        **changes,
    }


@pytest.mark.parametrize("halo_version", ["2.120.3"])
def test_connecting_halopsa_keeps_credentials_encrypted_and_the_version(
    alice_client, partner, halo_url
):
    response = alice_client.post("/integrations/halopsa/connect/", halo_form(halo_url))

    halopsa = Connection.objects.for_partner(partner).get(kind="halopsa")
    assert response.status_code == 302
    assert response.url == f"/integrations/{halopsa.pk}/"
    assert halopsa.status == Connection.Status.CONNECTED
    assert halopsa.role == Connection.Role.PRIMARY
    assert halopsa.remote_account == halo_app.TENANT
    assert halopsa.credentials["client_secret"] == halo_app.CLIENT_SECRET
    assert halopsa.credentials["webhook_auth"]["value"] == "s3cret"
    assert halopsa.credentials["version"] == "2.120.3"
    assert "webhook_auth" not in halopsa.preferences
    with db.cursor() as cursor:
        cursor.execute("SELECT credentials FROM core_connection WHERE id = %s", [halopsa.pk])
        (stored,) = cursor.fetchone()
    assert halo_app.CLIENT_SECRET not in stored
    assert "s3cret" not in stored


def test_wrong_halopsa_secret_is_refused_and_nothing_kept(alice_client, partner, halo_url):
    form = halo_form(halo_url, client_secret="not-the-secret")

    response = alice_client.post("/integrations/halopsa/connect/", form)

    assert response.status_code == 400
    assert "HaloPSA refused these credentials" in response.content.decode()
    assert not Connection.objects.for_partner(partner).filter(kind="halopsa").exists()


def test_a_role_already_held_is_a_form_error(alice_client, partner, halo_url):
    Connection.objects.create(partner=partner, kind="qbo", role=Connection.Role.PRIMARY)

    response = alice_client.post("/integrations/halopsa/connect/", halo_form(halo_url))

    assert response.status_code == 400
    assert "QuickBooks Online is already your primary connection" in response.content.decode()
    assert not Connection.objects.for_partner(partner).filter(kind="halopsa").exists()


def test_connecting_connectwise(alice_client, partner, connectwise_url):
    form = {
        "role": "tertiary",
        "base_url": connectwise_url,
        "company": connectwise_app.COMPANY,
        "public_key": connectwise_app.PUBLIC_KEY,
        "private_key": connectwise_app.PRIVATE_KEY,
        "client_id": connectwise_app.CLIENT_ID,
    }

    response = alice_client.post("/integrations/connectwise/connect/", form)

    assert response.status_code == 302
    connectwise = Connection.objects.for_partner(partner).get(kind="connectwise")
    assert connectwise.status == Connection.Status.CONNECTED
    assert connectwise.remote_account == connectwise_app.COMPANY
    assert connectwise.credentials["private_key"] == connectwise_app.PRIVATE_KEY


def test_wrong_connectwise_key_is_refused(alice_client, partner, connectwise_url):
    form = {
        "base_url": connectwise_url,
        "company": connectwise_app.COMPANY,
        "public_key": connectwise_app.PUBLIC_KEY,
        "private_key": "wrong",
        "client_id": connectwise_app.CLIENT_ID,
    }

    response = alice_client.post("/integrations/connectwise/connect/", form)

    assert response.status_code == 400
    assert "ConnectWise PSA refused these credentials" in response.content.decode()
    assert not Connection.objects.for_partner(partner).filter(kind="connectwise").exists()


def test_a_teammate_who_cannot_manage_is_refused(bob_client, halo_url):
    response = bob_client.post("/integrations/halopsa/connect/", halo_form(halo_url))

    assert response.status_code == 403
