# ruff: noqa: F811 (the fixtures imported from tests.integrations.qbo.fixtures are parameters here)
"""Acme's Business Central in the tests: the sandbox over loopback HTTP, connected by OAuth2.

Connecting goes the partner's way: the dashboard's Connect button, the
Microsoft sign-in (the sandbox's), the callback, and, where the consent
reaches several companies, the page to pick one. The sandbox's
notifications (and its subscription handshakes) go to arbridge's webhook
view through Django's test client.
"""

import datetime as dt

import httpx
import pytest
import time_machine

pytest.register_assert_rewrite("tests.integrations.qbo.fixtures")

from arbridge.integrations.models import Connection  # noqa: E402
from arbridge.sandbox.business_central import BusinessCentralSandbox, create_app  # noqa: E402
from arbridge.sandbox.business_central.demo import app_settings  # noqa: E402
from tests.connectors.business_central.books import Books  # noqa: E402
from tests.integrations.qbo.fixtures import (  # noqa: E402, F401
    Receiver,
    receiver,
    sandbox_server,
    sync,
)

KIND = "business_central"
SETTINGS = ("auth_url", "token_url", "api_base")


@pytest.fixture
def clock():
    """The one clock of arbridge and the sandbox: moved by the test (time-machine)."""
    with time_machine.travel(dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC), tick=False) as t:
        yield t


@pytest.fixture
def bc(sandbox_server, settings, receiver, clock) -> BusinessCentralSandbox:
    """A fresh Business Central sandbox, notifying arbridge's endpoint when flushed."""
    app = create_app(webhook_interval=None, http=httpx.Client(transport=receiver))
    sandbox_server.app = app
    for name, value in app_settings(sandbox_server.url).items():
        if name in SETTINGS:
            setattr(settings, f"{KIND.upper()}_{name.upper()}", value)
    return app


@pytest.fixture
def acme_books(bc) -> Books:
    return Books(bc, "/".join(bc.store.add_company(name="Acme IT")))


def consent(client, tenant: str) -> httpx.URL:
    """Press Connect, sign in to the tenant; return where Microsoft sends the person back."""
    start = client.get(f"/integrations/{KIND}/connect/")
    assert start.status_code == 302, start.content
    with httpx.Client() as http:
        answer = http.get(httpx.URL(start["Location"]).copy_merge_params({"tenant": tenant}))
    assert answer.status_code in (302, 303), answer.text
    return httpx.URL(answer.headers["Location"])


def come_back(client, callback: httpx.URL):
    return client.get(callback.path, dict(callback.params))


@pytest.fixture
def connected(client, alice, acme_books) -> Connection:
    """Acme's Business Central, connected through the dashboard as a partner connects it."""
    client.force_login(alice)
    response = come_back(client, consent(client, acme_books.account.split("/")[0]))
    assert response.status_code == 302
    return Connection.objects.get(partner=alice.memberships.get().partner, kind=KIND)
