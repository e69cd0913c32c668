# ruff: noqa: F811 (the fixtures imported from tests.integrations.qbo.fixtures are parameters here)
"""Acme's Zoho Books in the tests: the vendor's sandbox over loopback HTTP, connected by OAuth2.

Connecting goes the partner's way: the dashboard's Connect button, Zoho's
consent (the sandbox's US data centre), the callback, and the organization
picked from those the consent reaches.
"""

import pytest

pytest.register_assert_rewrite("tests.integrations.qbo.fixtures")

from arbridge.integrations.models import Connection  # noqa: E402
from arbridge.sandbox.zoho_books import ZohoBooksSandbox, create_app  # noqa: E402
from arbridge.sandbox.zoho_books.demo import app_settings  # noqa: E402
from tests.connectors.zoho_books.books import Books  # noqa: E402
from tests.integrations.qbo.fixtures import sandbox_server, sync  # noqa: E402, F401
from tests.integrations.xero.conftest import come_back, consent  # noqa: E402

KIND = "zoho_books"
URL_SETTINGS = ("auth_url", "token_url", "revoke_url", "api_base")


@pytest.fixture
def zoho(sandbox_server, settings) -> ZohoBooksSandbox:
    """A fresh Zoho Books sandbox, served over loopback HTTP as arbridge's vendor app."""
    app = create_app(requests_per_minute=1_000_000)
    sandbox_server.app = app
    for name, value in app_settings(sandbox_server.url).items():
        if name in URL_SETTINGS:
            setattr(settings, f"{KIND.upper()}_{name.upper()}", value)
    return app


@pytest.fixture
def acme_books(zoho) -> Books:
    return Books(zoho, zoho.store.add_org(name="Acme IT"))


@pytest.fixture
def connected(client, alice, acme_books) -> Connection:
    """Acme's Zoho Books, connected through the dashboard as a partner connects it."""
    client.force_login(alice)
    response = come_back(client, consent(client, KIND))
    assert response.status_code == 302, response.content
    return Connection.objects.get(partner=alice.memberships.get().partner, kind=KIND)
