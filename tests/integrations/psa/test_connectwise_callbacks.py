"""ConnectWise callbacks: registered when a connection is connected, once however often."""

import pytest
from django.conf import settings

from arbridge.connectors.connectwise.connector import Credentials
from arbridge.core.models import Connection
from arbridge.integrations import credentials
from arbridge.sandbox.connectwise import app as connectwise_app

pytestmark = pytest.mark.django_db

CREDENTIALS = {
    "public_key": connectwise_app.PUBLIC_KEY,
    "private_key": connectwise_app.PRIVATE_KEY,
    "client_id": connectwise_app.CLIENT_ID,
}


def connect(partner, connectwise_url: str) -> Connection:
    """Connect Acme's ConnectWise as the connect form does, with its own form's credentials."""
    connection = Connection.objects.for_partner(partner).filter(
        kind="connectwise"
    ).first() or Connection(partner=partner, kind="connectwise")
    typed = Credentials(base_url=connectwise_url, company=connectwise_app.COMPANY, **CREDENTIALS)
    credentials.connect(connection, typed)
    return connection


def callbacks(sandbox) -> list[tuple[str, str]]:
    """Return the (type, url) of every callback the ConnectWise company has registered."""
    return sorted((row["type"].lower(), row["url"]) for row in sandbox.store.rows("callbacks"))


def test_connecting_registers_a_callback_per_synced_type(
    partner, connectwise_sandbox, connectwise_url
):
    connection = connect(partner, connectwise_url)

    url = f"{settings.BASE_URL}/webhooks/connectwise/{connection.pk}"
    assert callbacks(connectwise_sandbox) == [
        ("company", url),
        ("contact", url),
        ("invoice", url),
    ]


def test_connecting_again_registers_nothing_twice(partner, connectwise_sandbox, connectwise_url):
    connect(partner, connectwise_url)
    first = callbacks(connectwise_sandbox)

    connect(partner, connectwise_url)

    assert callbacks(connectwise_sandbox) == first
    assert len(first) == 3
