# ruff: noqa: F811 (the fixtures imported from tests.integrations.qbo.fixtures are parameters here)
"""Acme's FreshBooks in the tests: the vendor's sandbox over loopback HTTP, connected by OAuth2.

Connecting goes the partner's way: the dashboard's Connect button,
FreshBooks' consent (the sandbox's), the callback, and, where the consent
reached several businesses, the page to pick one. Once an account is picked
arbridge registers its callbacks; the sandbox posts their verifiers to
arbridge's webhook URL when `deliver()` flushes them.
"""

import httpx
import pytest

pytest.register_assert_rewrite("tests.integrations.qbo.fixtures")

from arbridge.integrations.models import Connection  # noqa: E402
from arbridge.sandbox.freshbooks import FreshBooksSandbox, create_app  # noqa: E402
from arbridge.sandbox.freshbooks.demo import app_settings  # noqa: E402
from tests.connectors.freshbooks.books import Books  # noqa: E402
from tests.integrations.qbo.fixtures import (  # noqa: E402, F401
    Receiver,
    receiver,
    sandbox_server,
    sync,
)

SETTINGS = ("auth_url", "token_url", "revoke_url", "api_base")


@pytest.fixture
def freshbooks(sandbox_server, settings, receiver) -> FreshBooksSandbox:
    """A fresh FreshBooks sandbox, posting its callbacks to arbridge when flushed."""
    app = create_app(
        webhook_interval=None,
        http=httpx.Client(transport=receiver),
        requests_per_minute=1_000_000,
    )
    sandbox_server.app = app
    for name, value in app_settings(sandbox_server.url).items():
        if name in SETTINGS:
            setattr(settings, f"FRESHBOOKS_{name.upper()}", value)
    return app


@pytest.fixture
def acme_books(freshbooks) -> Books:
    return Books(freshbooks, freshbooks.store.add_account(name="Acme IT"))


def consent(client, **params) -> httpx.URL:
    """Press Connect, consent at FreshBooks; return where it sends the person back."""
    start = client.get("/integrations/freshbooks/connect/")
    assert start.status_code == 302, start.content
    with httpx.Client() as http:
        url = httpx.URL(start["Location"])
        answer = http.get(url.copy_merge_params(params) if params else url)
    assert answer.status_code in (302, 303), answer.text
    return httpx.URL(answer.headers["Location"])


def come_back(client, callback: httpx.URL):
    return client.get(callback.path, dict(callback.params))


@pytest.fixture
def deliver(freshbooks, django_capture_on_commit_callbacks):
    """Return a function that posts the sandbox's pending callbacks and runs their jobs."""

    def deliver() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return freshbooks.flush_webhooks()

    return deliver


@pytest.fixture
def connected(client, alice, acme_books, deliver) -> Connection:
    """Acme's FreshBooks, connected through the dashboard, its callbacks verified."""
    client.force_login(alice)
    response = come_back(client, consent(client))
    assert response.status_code == 302
    deliver()  # the verifiers, put back by arbridge's webhook endpoint
    return Connection.objects.get(partner=alice.memberships.get().partner, kind="freshbooks")
