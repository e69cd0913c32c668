# ruff: noqa: F811 (the fixtures imported from tests.integrations.qbo.fixtures are parameters here)
"""Acme's NetSuite in the tests: the vendor's sandbox over loopback HTTP, connected by its keys.

Connecting goes the administrator's way: the dashboard's connect form with
the account id, the integration's client id, the certificate id and the
certificate's private key, checked by a token and a query before anything is
stored.
"""

import pytest

pytest.register_assert_rewrite("tests.integrations.qbo.fixtures")

from arbridge.integrations.models import Connection  # noqa: E402
from arbridge.sandbox.netsuite import NetSuiteSandbox, create_app  # noqa: E402
from tests.connectors.netsuite.account import Bookkeeper, new_account  # noqa: E402
from tests.integrations.qbo.fixtures import sandbox_server, sync  # noqa: E402, F401

KIND = "netsuite"


@pytest.fixture
def netsuite(sandbox_server) -> NetSuiteSandbox:
    app = create_app()
    sandbox_server.app = app
    return app


@pytest.fixture
def keys(netsuite, sandbox_server) -> dict[str, str]:
    """What Acme's NetSuite administrator set up for arbridge, at the sandbox's address."""
    credentials = new_account(netsuite)
    return {**credentials, "base_url": f"{sandbox_server.url}/{credentials['account_id']}"}


@pytest.fixture
def acme_books(netsuite, keys) -> Bookkeeper:
    return Bookkeeper(netsuite, keys)


def form(keys: dict[str, str], **changes: str) -> dict[str, str]:
    return {"role": "primary", **keys, **changes}


@pytest.fixture
def connected(client, alice, keys) -> Connection:
    """Acme's NetSuite, connected through the dashboard as an administrator connects it."""
    client.force_login(alice)
    response = client.post(f"/integrations/{KIND}/connect/", form(keys))
    assert response.status_code == 302, response.content
    return Connection.objects.get(partner=alice.memberships.get().partner, kind=KIND)
