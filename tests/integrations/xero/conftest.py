# ruff: noqa: F811 (the fixtures imported from tests.integrations.qbo.fixtures are parameters here)
"""Acme's Xero in the tests: the vendor's sandbox over loopback HTTP, connected by OAuth2.

Connecting goes the partner's way: the dashboard's Connect button, Xero's
consent (the sandbox's), the callback, and, where the consent reached
several organisations, the page to pick one.
"""

import httpx
import pytest

pytest.register_assert_rewrite("tests.integrations.qbo.fixtures")

from arbridge.integrations.models import Connection  # noqa: E402
from arbridge.sandbox.xero import XeroSandbox, create_app  # noqa: E402
from arbridge.sandbox.xero.demo import app_settings  # noqa: E402
from tests.connectors.xero.books import Books  # noqa: E402
from tests.integrations.qbo.fixtures import (  # noqa: E402, F401
    Receiver,
    receiver,
    sandbox_server,
    sync,
)

XERO_SETTINGS = ("auth_url", "token_url", "revoke_url", "api_base")


@pytest.fixture
def xero(sandbox_server, settings, receiver) -> XeroSandbox:
    """A fresh Xero sandbox, posting its webhooks to arbridge's endpoint when flushed."""
    app = create_app(
        webhook_url="http://testserver/webhooks/xero",
        webhook_interval=None,
        http=httpx.Client(transport=receiver),
        requests_per_minute=1_000_000,
        concurrent_requests=100,
    )
    sandbox_server.app = app
    for name, value in app_settings(sandbox_server.url).items():
        if name in XERO_SETTINGS:
            setattr(settings, f"XERO_{name.upper()}", value)
    return app


@pytest.fixture
def acme_books(xero) -> Books:
    return Books(xero, xero.store.add_org(name="Acme IT"))


def consent(client, kind: str = "xero", **params) -> httpx.URL:
    """Press Connect, consent at the vendor; return where the vendor sends the person back."""
    start = client.get(f"/integrations/{kind}/connect/")
    assert start.status_code == 302, start.content
    with httpx.Client() as http:
        url = httpx.URL(start["Location"])
        answer = http.get(url.copy_merge_params(params) if params else url)
    assert answer.status_code in (302, 303), answer.text
    return httpx.URL(answer.headers["Location"])


def come_back(client, callback: httpx.URL):
    return client.get(callback.path, dict(callback.params))


@pytest.fixture
def connected(client, alice, acme_books) -> Connection:
    """Acme's Xero, connected through the dashboard as a partner connects it."""
    client.force_login(alice)
    response = come_back(client, consent(client))
    assert response.status_code == 302
    return Connection.objects.get(partner=alice.memberships.get().partner, kind="xero")
