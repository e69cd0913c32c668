# ruff: noqa: F811 (the fixtures imported from tests.integrations.qbo.fixtures are parameters here)
"""Acme's Sage Intacct in the tests: the sandbox over loopback HTTP, connected by the form.

Connecting goes the partner's way: the connections page's form with the
Web Services sender, the company's user and the entity, checked by opening a
session before anything is stored.
"""

import pytest

pytest.register_assert_rewrite("tests.integrations.qbo.fixtures")

from arbridge.integrations import connect  # noqa: E402
from arbridge.integrations.models import Connection  # noqa: E402
from arbridge.sandbox.sage_intacct import SageIntacctSandbox, create_app  # noqa: E402
from tests.connectors.sage_intacct.books import credentials  # noqa: E402
from tests.integrations.qbo.fixtures import sandbox_server, sync  # noqa: E402, F401

KIND = "sage_intacct"
COMPANY = "acme-it"
ENTITIES = {"EAST": "Acme IT East", "WEST": "Acme IT West"}


@pytest.fixture
def intacct(sandbox_server, settings) -> SageIntacctSandbox:
    """A fresh Sage Intacct sandbox with Acme's multi-entity company, on loopback HTTP."""
    app = create_app()
    app.store.add_company(COMPANY, "Acme IT", entities=ENTITIES)
    sandbox_server.app = app
    settings.SAGE_INTACCT_API_BASE = sandbox_server.url
    connect.limiter.cache_clear()
    yield app
    connect.limiter.cache_clear()


def form(entity: str = "EAST", **changes: str) -> dict[str, str]:
    return {**credentials(COMPANY, entity), **changes}


@pytest.fixture
def connected(client, alice, intacct) -> Connection:
    """Acme's Sage Intacct (its East entity), connected through the dashboard's form."""
    client.force_login(alice)
    response = client.post(f"/integrations/{KIND}/connect/", form())
    assert response.status_code == 302, response.content.decode()[:2000]
    return Connection.objects.get(partner=alice.memberships.get().partner, kind=KIND)
