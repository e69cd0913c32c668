"""Connecting NetSuite from the dashboard: keys checked before they are kept, partners apart."""

import pytest

from arbridge.core.models import Connection
from tests.connectors.netsuite.account import key_pair
from tests.integrations.netsuite.conftest import KIND, form

pytestmark = pytest.mark.django_db


def test_the_keys_are_checked_then_kept_and_the_account_is_the_remote_account(
    client, alice, keys, partner
):
    client.force_login(alice)

    response = client.post(f"/integrations/{KIND}/connect/", form(keys))

    connection = Connection.objects.for_partner(partner).get(kind=KIND)
    assert response.status_code == 302
    assert connection.status == Connection.Status.CONNECTED
    assert connection.remote_account == keys["account_id"]
    assert connection.credentials["private_key"] == keys["private_key"].strip()


def test_a_key_netsuite_does_not_know_is_refused_and_nothing_is_kept(client, alice, keys, partner):
    client.force_login(alice)

    response = client.post(
        f"/integrations/{KIND}/connect/", form(keys, private_key=key_pair("rsa")[0])
    )

    assert response.status_code == 400  # the form again, saying why
    assert "NetSuite refused these credentials" in response.content.decode()
    assert (
        not Connection.objects.for_partner(partner)
        .filter(kind=KIND, status=Connection.Status.CONNECTED)
        .exists()
    )


def test_another_partner_sees_nothing_of_the_connection(client, connected, charlie):
    client.force_login(charlie)  # of another MSP

    response = client.get(f"/integrations/{connected.pk}/")

    assert response.status_code == 404
